-- Like and reply counts kept on posts, so a feed page reads them with the
-- posts instead of counting per page. Statement-level triggers with
-- transition tables update each post once per statement, however many rows
-- a bulk insert or delete touches. Soft-deleted replies do not count.
ALTER TABLE posts ADD COLUMN like_count integer NOT NULL DEFAULT 0;
ALTER TABLE posts ADD COLUMN reply_count integer NOT NULL DEFAULT 0;

UPDATE posts p SET like_count = c.n
FROM (SELECT post_id, count(*) AS n FROM likes GROUP BY post_id) c WHERE p.id = c.post_id;
UPDATE posts p SET reply_count = c.n
FROM (SELECT post_id, count(*) AS n FROM replies WHERE deleted_at IS NULL GROUP BY post_id) c WHERE p.id = c.post_id;

CREATE FUNCTION posts_count_likes() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE posts p SET like_count = p.like_count + c.n
        FROM (SELECT post_id, count(*) AS n FROM new_rows GROUP BY post_id) c WHERE p.id = c.post_id;
    ELSE
        UPDATE posts p SET like_count = p.like_count - c.n
        FROM (SELECT post_id, count(*) AS n FROM old_rows GROUP BY post_id) c WHERE p.id = c.post_id;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER likes_count_insert AFTER INSERT ON likes
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION posts_count_likes();
CREATE TRIGGER likes_count_delete AFTER DELETE ON likes
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION posts_count_likes();

CREATE FUNCTION posts_count_replies() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE posts p SET reply_count = p.reply_count + c.n
        FROM (SELECT post_id, count(*) AS n FROM new_rows WHERE deleted_at IS NULL GROUP BY post_id) c
        WHERE p.id = c.post_id;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE posts p SET reply_count = p.reply_count - c.n
        FROM (SELECT post_id, count(*) AS n FROM old_rows WHERE deleted_at IS NULL GROUP BY post_id) c
        WHERE p.id = c.post_id;
    ELSE
        UPDATE posts p SET reply_count = p.reply_count + c.n
        FROM (SELECT post_id, sum(n) AS n FROM (
                  SELECT post_id, count(*) AS n FROM new_rows WHERE deleted_at IS NULL GROUP BY post_id
                  UNION ALL
                  SELECT post_id, -count(*) FROM old_rows WHERE deleted_at IS NULL GROUP BY post_id
              ) d GROUP BY post_id) c
        WHERE p.id = c.post_id AND c.n <> 0;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER replies_count_insert AFTER INSERT ON replies
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION posts_count_replies();
CREATE TRIGGER replies_count_delete AFTER DELETE ON replies
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION posts_count_replies();
CREATE TRIGGER replies_count_update AFTER UPDATE ON replies
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION posts_count_replies();

-- A like or a reply is not an edit of the post: only its own columns move updated_at.
DROP TRIGGER set_updated_at ON posts;
CREATE TRIGGER set_updated_at BEFORE UPDATE OF title, content, status, deleted_at ON posts
    FOR EACH ROW EXECUTE FUNCTION diesel_set_updated_at();
