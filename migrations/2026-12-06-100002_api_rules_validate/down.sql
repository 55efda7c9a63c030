-- Back to where the previous migration left things: the quarantined values
-- in their rows again, and the constraints NOT VALID (a validated constraint
-- would refuse them, so each is dropped and added back NOT VALID).
DO $$
DECLARE
    rule record;
    kept record;
BEGIN
    CREATE TEMP TABLE api_rules ON COMMIT DROP AS
    SELECT conrelid::regclass AS tbl, conname, pg_get_constraintdef(oid) AS def
    FROM pg_constraint
    WHERE conname = ANY (ARRAY[
        'users_name_length',
        'users_image_http',
        'users_current_role_length',
        'users_industry_length',
        'users_bio_length',
        'users_current_skills_size',
        'users_target_skills_size',
        'users_current_goals_size',
        'goals_title_length',
        'posts_title_length',
        'posts_content_length',
        'replies_content_length',
        'stories_content_length'
    ]);
    FOR rule IN SELECT * FROM api_rules LOOP
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', rule.tbl, rule.conname);
    END LOOP;
    FOR kept IN SELECT DISTINCT table_name, column_name, original_list IS NOT NULL AS list
                FROM quarantined_values LOOP
        EXECUTE format(
            'UPDATE %I t SET %I = q.%I FROM quarantined_values q
             WHERE q.table_name = %L AND q.column_name = %L AND q.row_id = t.id',
            kept.table_name, kept.column_name,
            CASE WHEN kept.list THEN 'original_list' ELSE 'original' END,
            kept.table_name, kept.column_name);
    END LOOP;
    FOR rule IN SELECT * FROM api_rules LOOP
        EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s NOT VALID', rule.tbl, rule.conname, rule.def);
    END LOOP;
END
$$;
DROP TABLE quarantined_values;
