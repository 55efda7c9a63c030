ALTER TABLE stories DROP CONSTRAINT stories_content_length;
ALTER TABLE replies DROP CONSTRAINT replies_content_length;
ALTER TABLE posts DROP CONSTRAINT posts_title_length, DROP CONSTRAINT posts_content_length;
ALTER TABLE goals DROP CONSTRAINT goals_title_length;
ALTER TABLE users
    DROP CONSTRAINT users_name_length,
    DROP CONSTRAINT users_image_http,
    DROP CONSTRAINT users_current_role_length,
    DROP CONSTRAINT users_industry_length,
    DROP CONSTRAINT users_bio_length,
    DROP CONSTRAINT users_current_skills_size,
    DROP CONSTRAINT users_target_skills_size,
    DROP CONSTRAINT users_current_goals_size;
DROP FUNCTION text_entries_fit(text[], integer);
