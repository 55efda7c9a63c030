-- The API's input rules as CHECK constraints, so that no write path (the
-- import, a script, a future feature) stores what the API refuses. Their
-- homes: src/accounts/profile.rs (profile), src/social/mod.rs (titles, post
-- and reply content), src/stories/mod.rs (story content). Each constraint is
-- at least as permissive as its rule, so the API never meets one:
-- char_length counts code points, as Rust's chars().count() does (the
-- database is UTF8), and the API stores trimmed titles and profile texts.
--
-- NOT VALID: rows already here are not scanned now (no long lock); new and
-- updated rows are checked from now on. The next migration fits the rows
-- already here and validates.

-- Every entry of a text list is present and at most `max_chars` long.
CREATE FUNCTION text_entries_fit(entries text[], max_chars integer) RETURNS boolean
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT NOT EXISTS (SELECT 1 FROM unnest(entries) e WHERE e IS NULL OR char_length(e) > max_chars) $$;

ALTER TABLE users
    ADD CONSTRAINT users_name_length CHECK (char_length(name) <= 100) NOT VALID,
    ADD CONSTRAINT users_image_http CHECK (char_length(image) <= 2048 AND image ~* '^https?://') NOT VALID,
    ADD CONSTRAINT users_current_role_length CHECK (char_length("current_role") <= 100) NOT VALID,
    ADD CONSTRAINT users_industry_length CHECK (char_length(industry) <= 100) NOT VALID,
    ADD CONSTRAINT users_bio_length CHECK (char_length(bio) <= 2000) NOT VALID,
    ADD CONSTRAINT users_current_skills_size
        CHECK (cardinality(current_skills) <= 50 AND text_entries_fit(current_skills, 50)) NOT VALID,
    ADD CONSTRAINT users_target_skills_size
        CHECK (cardinality(target_skills) <= 50 AND text_entries_fit(target_skills, 50)) NOT VALID,
    ADD CONSTRAINT users_current_goals_size
        CHECK (cardinality(current_goals) <= 20 AND text_entries_fit(current_goals, 200)) NOT VALID;

ALTER TABLE goals
    ADD CONSTRAINT goals_title_length CHECK (char_length(title) BETWEEN 1 AND 200) NOT VALID;

ALTER TABLE posts
    ADD CONSTRAINT posts_title_length CHECK (char_length(title) BETWEEN 1 AND 200) NOT VALID,
    ADD CONSTRAINT posts_content_length CHECK (char_length(content) <= 50000) NOT VALID;

ALTER TABLE replies
    ADD CONSTRAINT replies_content_length CHECK (char_length(content) BETWEEN 1 AND 10000) NOT VALID;

ALTER TABLE stories
    ADD CONSTRAINT stories_content_length CHECK (char_length(content) <= 20000) NOT VALID;
