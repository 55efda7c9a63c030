#!/usr/bin/env bash
# benches/import.sh: times `growth-diary import-prisma` on the dataset of issue 13.
#
#   1. builds the release binary (unless SKIP_BUILD=1) and runs a private copy of it;
#   2. drops and recreates SOURCE_DB with the Next.js app's schema exactly as `prisma migrate`
#      makes it (tests/fixtures/prisma_app.sql) and fills it with generate_series: USERS users
#      (one bcrypt hash of cost 10 for all), POSTS posts (90% published), LIKES likes (distinct
#      user/post pairs), REPLIES replies, one goal and one session per user, then VACUUM ANALYZE;
#   3. drops and recreates TARGET_DB and migrates it (`growth-diary migrate`), then CHECKPOINT;
#   4. times the import, then a second run on the same data (it must import nothing), and checks
#      the row counts and that every post's like count equals its likes;
#   5. writes the outputs and a summary to RESULTS_DIR.
# Both databases are left in place for inspection (drop them with DROP_AFTER=1).
#
# Usage:   benches/import.sh
# Smoke:   USERS=100 POSTS=2000 LIKES=10000 REPLIES=1000 benches/import.sh
#
# Settings (environment): PGHOST, PGPORT, PGUSER (127.0.0.1, 5432, postgres); SOURCE_DB
# (growth_diary_bench_prisma), TARGET_DB (growth_diary_bench_import), both must contain "bench";
# USERS, POSTS, LIKES, REPLIES (10000, 200000, 1000000, 0); SKIP_BUILD=1 / BENCH_BIN=path;
# RESULTS_DIR (benches/results/import-<UTC timestamp>); DROP_AFTER=1.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$BENCH_DIR/.." && pwd)"

export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
SOURCE_DB="${SOURCE_DB:-growth_diary_bench_prisma}"
TARGET_DB="${TARGET_DB:-growth_diary_bench_import}"
USERS="${USERS:-10000}"
POSTS="${POSTS:-200000}"
LIKES="${LIKES:-1000000}"
REPLIES="${REPLIES:-0}"
RESULTS_DIR="${RESULTS_DIR:-$BENCH_DIR/results/import-$(date -u +%Y%m%dT%H%M%SZ)}"
DROP_AFTER="${DROP_AFTER:-0}"

for db in "$SOURCE_DB" "$TARGET_DB"; do
    [[ "$db" == *bench* ]] || { echo "refusing to drop $db: its name must contain 'bench'" >&2; exit 2; }
done
if (( LIKES > USERS * POSTS )); then
    echo "LIKES must be at most USERS * POSTS (distinct pairs)" >&2
    exit 2
fi
mkdir -p "$RESULTS_DIR"
psql_q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

# --- 1. the binary ------------------------------------------------------------------------------
if [[ -n "${BENCH_BIN:-}" ]]; then
    bin_src="$BENCH_BIN"
elif [[ "${SKIP_BUILD:-0}" == 1 ]]; then
    bin_src="${CARGO_TARGET_DIR:-$REPO_DIR/target}/release/growth-diary"
else
    (cd "$REPO_DIR" && nice -n 10 cargo build --release --locked --quiet)
    bin_src="${CARGO_TARGET_DIR:-$REPO_DIR/target}/release/growth-diary"
fi
BIN="$RESULTS_DIR/growth-diary"
cp "$bin_src" "$BIN"

# --- 2. the old app's database ------------------------------------------------------------------
echo "building $SOURCE_DB: $USERS users, $POSTS posts, $LIKES likes, $REPLIES replies"
psql_q -d postgres -c "DROP DATABASE IF EXISTS $SOURCE_DB WITH (FORCE)" -c "CREATE DATABASE $SOURCE_DB"
psql_q -d "$SOURCE_DB" -f "$REPO_DIR/tests/fixtures/prisma_app.sql"
fill_started=$(date +%s%N)
psql_q -d "$SOURCE_DB" -v users="$USERS" -v posts="$POSTS" -v likes="$LIKES" -v replies="$REPLIES" <<'SQL'
BEGIN;
-- cuid-shaped ids: 'c' and 24 lowercase hex digits.
CREATE FUNCTION pg_temp.cuid(kind text, n bigint) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$ SELECT 'c' || substr(md5(kind || n), 1, 24) $$;
INSERT INTO "User" ("id", "email", "name", "password", "verified", "emailVerified", "currentRole",
                    "experienceLevel", "yearsOfExperience", "currentSkills", "targetSkills", "currentGoals",
                    "achievementScore", "createdAt", "updatedAt")
SELECT pg_temp.cuid('u', n), 'user' || n || '@example.com', 'User ' || n,
       -- "old-app-password", bcrypt cost 10
       '$2b$10$o1ZIF4u1592094CFucy2ve2IMDHBL20rCajsQTgqeSUb7RVJ8s6.K', true, now() AT TIME ZONE 'UTC',
       'Engineer', (ARRAY['JUNIOR','MID_LEVEL','SENIOR']::"ExperienceLevel"[])[1 + n % 3], n % 30,
       '{Rust,SQL}', '{Leadership}', '{Ship it}', n % 100,
       now() AT TIME ZONE 'UTC' - interval '400 days', now() AT TIME ZONE 'UTC'
FROM generate_series(0, :users - 1) n;
INSERT INTO "Goal" ("id", "userId", "title", "period", "status", "startDate", "deadline", "createdAt", "updatedAt")
SELECT pg_temp.cuid('g', n), pg_temp.cuid('u', n), 'Read every day', 'WEEKLY', 'ACTIVE',
       now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC' + interval '7 days',
       now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'
FROM generate_series(0, :users - 1) n;
INSERT INTO "Session" ("id", "sessionToken", "userId", "expires")
SELECT pg_temp.cuid('s', n), md5('session' || n), pg_temp.cuid('u', n), now() AT TIME ZONE 'UTC' + interval '30 days'
FROM generate_series(0, :users - 1) n;
INSERT INTO "Post" ("id", "title", "content", "status", "authorId", "createdAt", "updatedAt")
SELECT pg_temp.cuid('p', n), 'Day ' || n, 'Today I learned something worth writing down, and wrote it down.',
       CASE WHEN n % 10 = 0 THEN 'DRAFT' ELSE 'PUBLISHED' END::"PostStatus", pg_temp.cuid('u', n % :users),
       now() AT TIME ZONE 'UTC' - (n % 365) * interval '1 day', now() AT TIME ZONE 'UTC'
FROM generate_series(0, :posts - 1) n;
-- Like n: user n % users on post n / (likes / posts rounded up): distinct pairs while
-- each post takes at most `users` likes.
INSERT INTO "Like" ("id", "userId", "postId", "createdAt")
SELECT pg_temp.cuid('l', n), pg_temp.cuid('u', n % :users),
       pg_temp.cuid('p', (n / ceil(:likes::numeric / :posts)::bigint) % :posts), now() AT TIME ZONE 'UTC'
FROM generate_series(0, :likes - 1) n;
INSERT INTO "Reply" ("id", "content", "authorId", "postId", "createdAt", "updatedAt")
SELECT pg_temp.cuid('r', n), 'Keep going!', pg_temp.cuid('u', (n * 7) % :users), pg_temp.cuid('p', n % :posts),
       now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'
FROM generate_series(0, :replies - 1) n;
COMMIT;
VACUUM ANALYZE;
SQL
fill_seconds=$(( ($(date +%s%N) - fill_started) / 1000000000 ))

# --- 3. this server's database ------------------------------------------------------------------
psql_q -d postgres -c "DROP DATABASE IF EXISTS $TARGET_DB WITH (FORCE)" -c "CREATE DATABASE $TARGET_DB"
export DATABASE_URL="postgres://$PGUSER@$PGHOST:$PGPORT/$TARGET_DB"
RUST_LOG=warn "$BIN" migrate
psql_q -d postgres -c "CHECKPOINT"
unset ENCRYPTION_KEY

# --- 4. the import, twice -----------------------------------------------------------------------
from="postgres://$PGUSER@$PGHOST:$PGPORT/$SOURCE_DB?schema=public"
timed() { # name: runs the import, keeps its output, prints the wall time in seconds
    local started
    started=$(date +%s%N)
    RUST_LOG=warn "$BIN" import-prisma --from "$from" >"$RESULTS_DIR/$1.txt" 2>"$RESULTS_DIR/$1.stderr"
    awk -v ns=$(( $(date +%s%N) - started )) 'BEGIN { printf "%.1f", ns / 1e9 }'
}
echo "importing (first run)"
first=$(timed first-run)
echo "importing again (second run)"
second=$(timed second-run)

counts=$(psql -X -At -d "$TARGET_DB" -c "SELECT (SELECT count(*) FROM users) || ' users, ' ||
    (SELECT count(*) FROM posts) || ' posts, ' || (SELECT count(*) FROM likes) || ' likes, ' ||
    (SELECT count(*) FROM replies) || ' replies, ' || (SELECT count(*) FROM legacy_ids) || ' legacy ids'")
wrong=$(psql -X -At -d "$TARGET_DB" -c "SELECT count(*) FROM posts p
    LEFT JOIN (SELECT post_id, count(*) n FROM likes GROUP BY post_id) l ON l.post_id = p.id
    WHERE p.like_count <> coalesce(l.n, 0)")
[[ "$wrong" == 0 ]] || { echo "like counts are wrong on $wrong posts" >&2; exit 1; }
grep -q "imported in" "$RESULTS_DIR/second-run.txt"
if awk 'NR > 1 && $1 != "imported" && $4 != 0 { bad = 1 } END { exit !bad }' \
    < <(sed -n '/^table/,$p' "$RESULTS_DIR/second-run.txt"); then
    echo "the second run imported rows again" >&2
    exit 1
fi

# --- 5. summary -----------------------------------------------------------------------------
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')
{
    echo "# import-prisma benchmark, $(date -u +%Y-%m-%dT%H:%MZ)"
    echo
    echo "- commit $(git -C "$REPO_DIR" rev-parse --short HEAD), $(nproc) CPUs ($cpu), $(psql -X -At -d postgres -c 'SHOW server_version')"
    echo "- source: $USERS users, $POSTS posts, $LIKES likes, $REPLIES replies, $USERS goals, $USERS sessions (built in $fill_seconds s)"
    echo "- after: $counts"
    echo
    echo "| run | wall time |"
    echo "|---|---|"
    echo "| first import | $first s |"
    echo "| second run (nothing new) | $second s |"
    echo
    echo '```'
    cat "$RESULTS_DIR/first-run.txt"
    echo '```'
} | tee "$RESULTS_DIR/summary.md"
rm -f "$BIN"

if [[ "$DROP_AFTER" == 1 ]]; then
    psql_q -d postgres -c "DROP DATABASE IF EXISTS $SOURCE_DB WITH (FORCE)" -c "DROP DATABASE IF EXISTS $TARGET_DB WITH (FORCE)"
fi
