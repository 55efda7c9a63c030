-- Where the primary's WAL stood after the last write of the session's user
-- (stamped only when read replicas are configured): the session's reads go
-- to a replica only once it has replayed this far (read-your-writes).
ALTER TABLE sessions ADD COLUMN write_lsn pg_lsn;
