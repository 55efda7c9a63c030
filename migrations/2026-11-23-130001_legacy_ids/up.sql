-- Ids that rows had in the Next.js (Prisma) app they were imported from
-- (`growth-diary import-prisma`), mapped to their ids here. Old links keep
-- resolving (`post(id:)` and `user(id:)` accept an old id), and a second run
-- of the import skips every row already mapped. A mapping outlives its row on
-- purpose: what was deleted here must not come back with the next run. It
-- holds ids only, no content. `model` is the Prisma model name ('User',
-- 'Post', ...); verification tokens, which have no id, are keyed by the hex
-- SHA-256 of the token and map to no row (`id` is NULL).
CREATE TABLE legacy_ids (
    model text NOT NULL,
    legacy_id text NOT NULL,
    id uuid,
    imported_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT legacy_ids_pkey PRIMARY KEY (model, legacy_id)
);
