//! `growth-diary seed`: fills the database with realistic demo data quickly,
//! with set-based SQL (`INSERT ... SELECT generate_series`), for demos and benchmarks.

use diesel::sql_types::{BigInt, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};

use crate::auth::password;
use crate::config::DatabaseConfig;
use crate::db::connect;

/// The password of every seeded user.
pub const SEED_PASSWORD: &str = "growth-diary-demo";

/// How much to seed.
#[derive(Debug, Clone, clap::Args)]
pub struct SeedArgs {
    #[command(flatten)]
    pub database: DatabaseConfig,
    /// Users to create.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(i64).range(1..=10_000_000))]
    pub users: i64,
    /// Posts per user (about 90% published).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(i64).range(0..=10_000))]
    pub posts_per_user: i64,
    /// Likes in all (random users on random published posts; repeats are dropped).
    #[arg(long, default_value_t = 5_000, value_parser = clap::value_parser!(i64).range(0..=100_000_000))]
    pub likes: i64,
    /// Replies in all (random users on random published posts).
    #[arg(long, default_value_t = 2_000, value_parser = clap::value_parser!(i64).range(0..=100_000_000))]
    pub replies: i64,
    /// Goals per user.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(i64).range(0..=1_000))]
    pub goals_per_user: i64,
}

/// What was seeded.
#[derive(Debug)]
pub struct Seeded {
    /// Seeded emails look like `user1.<tag>@seed.example.com`.
    pub tag: String,
    pub first_email: String,
}

/// Seeds in one transaction; returns how to sign in as a seeded user.
pub async fn run(args: &SeedArgs) -> Result<Seeded, String> {
    let tag = uuid::Uuid::now_v7().simple().to_string()[20..].to_string();
    let hash = password::hash(SEED_PASSWORD)
        .await
        .map_err(|_| "cannot hash the seed password".to_string())?;
    let mut conn = connect::establish(&args.database.database_url, args.database.connect_timeout())
        .await
        .map_err(|err| err.to_string())?;
    let conn: &mut AsyncPgConnection = &mut conn;
    let started = std::time::Instant::now();
    conn.transaction::<_, diesel::result::Error, _>(async |conn| {
        step(conn, "users", USERS, &[&tag, &hash], &[args.users]).await?;
        conn.batch_execute(
            "CREATE TEMP TABLE seed_users ON COMMIT DROP AS
                 SELECT id, row_number() OVER (ORDER BY id) AS rn FROM users WHERE email LIKE '%.' || current_setting('seed.tag') || '@seed.example.com';
             CREATE INDEX ON seed_users (rn);",
        )
        .await?;
        step(conn, "goals", GOALS, &[], &[args.goals_per_user]).await?;
        step(conn, "posts", POSTS, &[], &[args.posts_per_user]).await?;
        conn.batch_execute(
            "CREATE TEMP TABLE seed_posts ON COMMIT DROP AS
                 SELECT p.id, p.created_at, row_number() OVER (ORDER BY p.id) AS rn
                 FROM posts p JOIN seed_users u ON u.id = p.author_id WHERE p.status = 'PUBLISHED';
             CREATE INDEX ON seed_posts (rn);",
        )
        .await?;
        step(conn, "likes", LIKES, &[], &[args.likes]).await?;
        step(conn, "replies", REPLIES, &[], &[args.replies]).await?;
        Ok(())
    })
    .await
    .map_err(|err| err.to_string())?;
    conn.batch_execute("ANALYZE")
        .await
        .map_err(|err| err.to_string())?;
    tracing::info!(elapsed = ?started.elapsed(), "seeding done");
    Ok(Seeded {
        first_email: format!("user1.{tag}@seed.example.com"),
        tag,
    })
}

async fn step(
    conn: &mut AsyncPgConnection,
    what: &str,
    sql: &str,
    texts: &[&str],
    numbers: &[i64],
) -> diesel::QueryResult<()> {
    let started = std::time::Instant::now();
    if let Some(tag) = texts.first() {
        diesel::sql_query("SELECT set_config('seed.tag', $1, true)")
            .bind::<Text, _>(*tag)
            .execute(conn)
            .await?;
    }
    let query = diesel::sql_query(sql).into_boxed();
    let query = texts
        .iter()
        .skip(1)
        .fold(query, |q, text| q.bind::<Text, _>(text.to_string()));
    let query = numbers.iter().fold(query, |q, n| q.bind::<BigInt, _>(*n));
    let rows = query.execute(conn).await?;
    tracing::info!(rows, elapsed = ?started.elapsed(), "seeded {what}");
    Ok(())
}

const USERS: &str = "
INSERT INTO users (email, name, password_hash, verified, email_verified, \"current_role\", experience_level,
                   industry, years_of_experience, current_skills, target_skills, bio, current_goals)
SELECT 'user' || n || '.' || current_setting('seed.tag') || '@seed.example.com',
       (ARRAY['Ada','Grace','Linus','Margaret','Alan','Barbara','Dennis','Frances','Ken','Radia'])[1 + n % 10]
         || ' ' || (ARRAY['Lovelace','Hopper','Torvalds','Hamilton','Turing','Liskov','Ritchie','Allen','Thompson','Perlman'])[1 + (n / 10) % 10],
       $1, true, now(),
       (ARRAY['Software Engineer','Data Analyst','Product Manager','Designer','Engineering Manager'])[1 + n % 5],
       (ARRAY['INTERN','JUNIOR','MID_LEVEL','SENIOR','LEAD','MANAGER','DIRECTOR','VP','C_LEVEL'])[1 + n % 9]::experience_level,
       (ARRAY['Fintech','Health','Education','Retail','Media'])[1 + n % 5],
       n % 30,
       ARRAY['SQL', (ARRAY['Rust','Go','TypeScript','Python','Kotlin'])[1 + n % 5]],
       ARRAY[(ARRAY['System design','Public speaking','Mentoring','Machine learning'])[1 + n % 4]],
       'Writing down what I learn, one day at a time.',
       ARRAY['Grow every week']
FROM generate_series(1, $2) AS n";

const GOALS: &str = "
INSERT INTO goals (user_id, title, period, status, start_date, deadline, completed_at)
SELECT u.id,
       (ARRAY['Read a chapter','Ship a side project','Mentor a colleague','Give a talk','Learn a language'])[1 + (u.rn + g) % 5],
       (ARRAY['DAILY','WEEKLY','MONTHLY','QUARTERLY','YEARLY'])[1 + (u.rn + g) % 5]::goal_period,
       CASE WHEN (u.rn + g) % 3 = 0 THEN 'COMPLETED' ELSE 'ACTIVE' END::goal_status,
       now() - interval '30 days', now() + (g * interval '7 days'),
       CASE WHEN (u.rn + g) % 3 = 0 THEN now() - interval '1 day' END
FROM seed_users u CROSS JOIN generate_series(1, $1) AS g";

const POSTS: &str = "
INSERT INTO posts (author_id, title, content, status, created_at)
SELECT u.id,
       (ARRAY['Learned','Shipped','Struggled with','Finally understood','Taught','Refactored'])[1 + (u.rn + p) % 6]
         || ' ' || (ARRAY['async Rust','SQL window functions','a hard bug','code review','GraphQL','estimates'])[1 + (u.rn * 7 + p) % 6],
       'Today was about ' || (ARRAY['focus','patience','curiosity','shipping','listening'])[1 + p % 5]
         || '. I noted what worked, what did not, and what I will try tomorrow. Progress is slow but visible when I look back a month.',
       CASE WHEN (u.rn + p) % 10 = 0 THEN 'DRAFT' ELSE 'PUBLISHED' END::post_status,
       now() - random() * interval '365 days'
FROM seed_users u CROSS JOIN generate_series(1, $1) AS p";

const LIKES: &str = "
INSERT INTO likes (user_id, post_id)
SELECT u.id, p.id
FROM (SELECT 1 + floor(random() * (SELECT count(*) FROM seed_users))::bigint AS ur,
             1 + floor(random() * (SELECT count(*) FROM seed_posts))::bigint AS pr
      FROM generate_series(1, $1)) pick
JOIN seed_users u ON u.rn = pick.ur
JOIN seed_posts p ON p.rn = pick.pr
ON CONFLICT DO NOTHING";

const REPLIES: &str = "
INSERT INTO replies (author_id, post_id, content, created_at)
SELECT u.id, p.id,
       (ARRAY['Great insight, thanks for sharing!','I had the same problem last week.','How long did that take you?','Keep going!','This helped me a lot.'])[1 + (pick.ur % 5)::int],
       p.created_at + random() * interval '2 days'
FROM (SELECT 1 + floor(random() * (SELECT count(*) FROM seed_users))::bigint AS ur,
             1 + floor(random() * (SELECT count(*) FROM seed_posts))::bigint AS pr
      FROM generate_series(1, $1)) pick
JOIN seed_users u ON u.rn = pick.ur
JOIN seed_posts p ON p.rn = pick.pr";
