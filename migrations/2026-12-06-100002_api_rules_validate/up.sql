-- Rows stored before the API's rules were constraints (by an import of an
-- older version, or by hand) may break them, and VALIDATE would then fail and
-- stop the upgrade. So each value that breaks a rule is first kept, exactly as
-- it was, in quarantined_values, and its row gets the nearest value the rule
-- accepts: a text cut to its limit, a list without its missing entries, cut
-- to its limits, an image that is not an http(s) URL cleared, an empty title
-- '(untitled)', an empty reply '(empty)'. Nothing is lost: the originals stay
-- until an operator deletes them, belong to the user whose row they came from
-- (deleted with the user, part of the user's export), and the down migration
-- puts them back. Then every constraint of the previous migration is
-- validated (a scan of each table under SHARE UPDATE EXCLUSIVE, which blocks
-- neither reads nor writes).
CREATE TABLE quarantined_values (
    id uuid PRIMARY KEY DEFAULT uuid_generate_v7(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    table_name text NOT NULL,
    row_id uuid NOT NULL,
    column_name text NOT NULL,
    original text,
    original_list text[],
    quarantined_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT quarantined_values_one_original CHECK ((original IS NULL) <> (original_list IS NULL))
);
CREATE INDEX quarantined_values_user_id_idx ON quarantined_values (user_id);

-- The originals first; then one UPDATE per table fixes every column of a row
-- at once (the NOT VALID constraints already check updated rows whole).

INSERT INTO quarantined_values (user_id, table_name, row_id, column_name, original)
SELECT id, 'users', id, 'name', name FROM users WHERE char_length(name) > 100;
INSERT INTO quarantined_values (user_id, table_name, row_id, column_name, original)
SELECT id, 'users', id, 'image', image FROM users WHERE NOT (char_length(image) <= 2048 AND image ~* '^https?://');
INSERT INTO quarantined_values (user_id, table_name, row_id, column_name, original)
SELECT id, 'users', id, 'current_role', "current_role" FROM users WHERE char_length("current_role") > 100;
INSERT INTO quarantined_values (user_id, table_name, row_id, column_name, original)
SELECT id, 'users', id, 'industry', industry FROM users WHERE char_length(industry) > 100;
INSERT INTO quarantined_values (user_id, table_name, row_id, column_name, original)
SELECT id, 'users', id, 'bio', bio FROM users WHERE char_length(bio) > 2000;
INSERT INTO quarantined_values (user_id, table_name, row_id, column_name, original_list)
SELECT id, 'users', id, 'current_skills', current_skills FROM users WHERE NOT (cardinality(current_skills) <= 50 AND text_entries_fit(current_skills, 50));
INSERT INTO quarantined_values (user_id, table_name, row_id, column_name, original_list)
SELECT id, 'users', id, 'target_skills', target_skills FROM users WHERE NOT (cardinality(target_skills) <= 50 AND text_entries_fit(target_skills, 50));
INSERT INTO quarantined_values (user_id, table_name, row_id, column_name, original_list)
SELECT id, 'users', id, 'current_goals', current_goals FROM users WHERE NOT (cardinality(current_goals) <= 20 AND text_entries_fit(current_goals, 200));
INSERT INTO quarantined_values (user_id, table_name, row_id, column_name, original)
SELECT user_id, 'goals', id, 'title', title FROM goals WHERE char_length(title) NOT BETWEEN 1 AND 200;
INSERT INTO quarantined_values (user_id, table_name, row_id, column_name, original)
SELECT author_id, 'posts', id, 'title', title FROM posts WHERE char_length(title) NOT BETWEEN 1 AND 200;
INSERT INTO quarantined_values (user_id, table_name, row_id, column_name, original)
SELECT author_id, 'posts', id, 'content', content FROM posts WHERE char_length(content) > 50000;
INSERT INTO quarantined_values (user_id, table_name, row_id, column_name, original)
SELECT author_id, 'replies', id, 'content', content FROM replies WHERE char_length(content) NOT BETWEEN 1 AND 10000;
INSERT INTO quarantined_values (user_id, table_name, row_id, column_name, original)
SELECT user_id, 'stories', id, 'content', content FROM stories WHERE char_length(content) > 20000;

UPDATE users SET
    name = CASE WHEN char_length(name) > 100
        THEN left(name, 100) ELSE name END,
    image = CASE WHEN NOT (char_length(image) <= 2048 AND image ~* '^https?://')
        THEN NULL ELSE image END,
    "current_role" = CASE WHEN char_length("current_role") > 100
        THEN left("current_role", 100) ELSE "current_role" END,
    industry = CASE WHEN char_length(industry) > 100
        THEN left(industry, 100) ELSE industry END,
    bio = CASE WHEN char_length(bio) > 2000
        THEN left(bio, 2000) ELSE bio END,
    current_skills = CASE WHEN NOT (cardinality(current_skills) <= 50 AND text_entries_fit(current_skills, 50))
        THEN ARRAY(SELECT left(e, 50) FROM unnest(current_skills) WITH ORDINALITY AS t (e, i)
                        WHERE e IS NOT NULL ORDER BY i LIMIT 50) ELSE current_skills END,
    target_skills = CASE WHEN NOT (cardinality(target_skills) <= 50 AND text_entries_fit(target_skills, 50))
        THEN ARRAY(SELECT left(e, 50) FROM unnest(target_skills) WITH ORDINALITY AS t (e, i)
                        WHERE e IS NOT NULL ORDER BY i LIMIT 50) ELSE target_skills END,
    current_goals = CASE WHEN NOT (cardinality(current_goals) <= 20 AND text_entries_fit(current_goals, 200))
        THEN ARRAY(SELECT left(e, 200) FROM unnest(current_goals) WITH ORDINALITY AS t (e, i)
                        WHERE e IS NOT NULL ORDER BY i LIMIT 20) ELSE current_goals END
WHERE id IN (SELECT row_id FROM quarantined_values WHERE table_name = 'users');

UPDATE goals SET
    title = CASE WHEN char_length(title) NOT BETWEEN 1 AND 200
        THEN coalesce(nullif(left(title, 200), ''), '(untitled)') ELSE title END
WHERE id IN (SELECT row_id FROM quarantined_values WHERE table_name = 'goals');

UPDATE posts SET
    title = CASE WHEN char_length(title) NOT BETWEEN 1 AND 200
        THEN coalesce(nullif(left(title, 200), ''), '(untitled)') ELSE title END,
    content = CASE WHEN char_length(content) > 50000
        THEN left(content, 50000) ELSE content END
WHERE id IN (SELECT row_id FROM quarantined_values WHERE table_name = 'posts');

UPDATE replies SET
    content = CASE WHEN char_length(content) NOT BETWEEN 1 AND 10000
        THEN coalesce(nullif(left(content, 10000), ''), '(empty)') ELSE content END
WHERE id IN (SELECT row_id FROM quarantined_values WHERE table_name = 'replies');

UPDATE stories SET
    content = CASE WHEN char_length(content) > 20000
        THEN left(content, 20000) ELSE content END
WHERE id IN (SELECT row_id FROM quarantined_values WHERE table_name = 'stories');

ALTER TABLE users VALIDATE CONSTRAINT users_name_length;
ALTER TABLE users VALIDATE CONSTRAINT users_image_http;
ALTER TABLE users VALIDATE CONSTRAINT users_current_role_length;
ALTER TABLE users VALIDATE CONSTRAINT users_industry_length;
ALTER TABLE users VALIDATE CONSTRAINT users_bio_length;
ALTER TABLE users VALIDATE CONSTRAINT users_current_skills_size;
ALTER TABLE users VALIDATE CONSTRAINT users_target_skills_size;
ALTER TABLE users VALIDATE CONSTRAINT users_current_goals_size;
ALTER TABLE goals VALIDATE CONSTRAINT goals_title_length;
ALTER TABLE posts VALIDATE CONSTRAINT posts_title_length;
ALTER TABLE posts VALIDATE CONSTRAINT posts_content_length;
ALTER TABLE replies VALIDATE CONSTRAINT replies_content_length;
ALTER TABLE stories VALIDATE CONSTRAINT stories_content_length;
