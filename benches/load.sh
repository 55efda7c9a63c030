#!/usr/bin/env bash
# benches/load.sh: the load benchmark of growth-diary's GraphQL server (see shared/performance.md).
#
# What it does, in order:
#   1. builds the release binary (cargo build --release) and runs a private copy of it, so a
#      rebuild in the work tree during the run changes nothing;
#   2. drops and recreates a dedicated database (default growth_diary_bench) and seeds it with
#      `growth-diary seed` (10,000 users, 20 posts each, 1,000,000 likes, 400,000 replies), then
#      VACUUM ANALYZE + CHECKPOINT so every run starts from the same steady state;
#      REUSE_DB=1 keeps an already seeded database instead;
#   3. starts the server once with RUST_LOG=growth_diary::sql=trace, signs in, loads one feed page
#      (and the deep page below) and turns the statements it logged into benches/feed.pgbench
#      (bind values written in as literals by benches/trace2pgbench.pl); EXPLAIN (ANALYZE, BUFFERS)
#      of each of those statements is saved;
#   4. restarts the server with quiet logging on a free port and loads it with wrk
#      (benches/feed.lua, post.lua, like.lua): per scenario a warm-up run that is thrown away, then
#      a measured run with --latency; the server's peak RSS is taken during the feed scenario
#      (VmHWM, reset through /proc/PID/clear_refs just before it, plus a 100 ms VmRSS poller);
#   5. compares the feed's page 1 with a deep page (the page after position DEEP_POSITION, reached
#      with a keyset cursor computed in SQL and checked against a real endCursor), at CONNECTIONS
#      connections and at 1 connection;
#   6. stops the server and runs pgbench -M prepared on benches/feed.pgbench: the database's own
#      limit for the same statements (one transaction = one feed page);
#   7. prints a markdown summary, also saved as RESULTS_DIR/summary.md with every raw output.
# The server is stopped on exit (trap); the bench database is left in place for REUSE_DB=1.
#
# Usage:   benches/load.sh
# Smoke:   SEED_USERS=200 SEED_LIKES=5000 SEED_REPLIES=2000 WARMUP=1 DURATION=3 SINGLE_DURATION=2 \
#          DEEP_POSITION=500 benches/load.sh
# Again on the same data: REUSE_DB=1 benches/load.sh
#
# Settings (environment):
#   PGHOST, PGPORT, PGUSER  PostgreSQL (127.0.0.1, 5432, postgres; trust or PGPASSWORD)
#   BENCH_DB                database to use, dropped and recreated (growth_diary_bench; must contain "bench")
#   REUSE_DB=1              keep the database when it already holds seeded data
#   SEED_USERS, SEED_POSTS_PER_USER, SEED_LIKES, SEED_REPLIES   dataset (10000, 20, 1000000, 400000)
#   CONNECTIONS, THREADS    wrk connections and threads (64, 2); pgbench uses the same unless
#   PGBENCH_CLIENTS, PGBENCH_JOBS are set
#   WARMUP, DURATION        seconds of the discarded warm-up and of the measured run (5, 20)
#   SINGLE_DURATION         seconds of each 1-connection latency run (10)
#   DEEP_POSITION           feed position whose next page is the "deep page" (20000)
#   BASE_PORT               first port tried for the server (18080); the first free one is used
#   DATABASE_POOL_SIZE      passed to the server when set (the server's default is 10)
#   SERVER_RUST_LOG         RUST_LOG of the measured server (warn)
#   WAIT_FOR_IDLE           on a shared machine, wait up to this many seconds before the load and
#                           before pgbench until no compiler (rustc, cargo, clippy, cc, ld) has run
#                           for 15 s (0: do not wait); compilers seen at a scenario's start are
#                           reported in the summary either way
#   SKIP_BUILD=1            do not run cargo; BENCH_BIN=/path/to/growth-diary uses that binary
#   PGBENCH_SQL             captured (default: the statements the server logged) or handwritten
#                           (hand-written equivalent of the feed page's SQL)
#   RESULTS_DIR             where raw outputs go (benches/results/<UTC timestamp>)
#
# Pinned tools: wrk from Debian's package wrk=4.1.0-3+b2 (bookworm; installed with apt-get when
# wrk is missing), pgbench/psql of PostgreSQL 15, curl, jq, perl (perl-base). Their versions are
# written into the summary.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$BENCH_DIR/.." && pwd)"

# --- settings -------------------------------------------------------------------------------
export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
BENCH_DB="${BENCH_DB:-growth_diary_bench}"
REUSE_DB="${REUSE_DB:-0}"
SEED_USERS="${SEED_USERS:-10000}"
SEED_POSTS_PER_USER="${SEED_POSTS_PER_USER:-20}"
SEED_LIKES="${SEED_LIKES:-1000000}"
SEED_REPLIES="${SEED_REPLIES:-400000}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-2}"
WARMUP="${WARMUP:-5}"
DURATION="${DURATION:-20}"
SINGLE_DURATION="${SINGLE_DURATION:-10}"
PGBENCH_CLIENTS="${PGBENCH_CLIENTS:-$CONNECTIONS}"
PGBENCH_JOBS="${PGBENCH_JOBS:-$THREADS}"
DEEP_POSITION="${DEEP_POSITION:-20000}"
BASE_PORT="${BASE_PORT:-18080}"
SERVER_RUST_LOG="${SERVER_RUST_LOG:-warn}"
WAIT_FOR_IDLE="${WAIT_FOR_IDLE:-0}"
SKIP_BUILD="${SKIP_BUILD:-0}"
BENCH_BIN="${BENCH_BIN:-}"
PGBENCH_SQL="${PGBENCH_SQL:-captured}"
RESULTS_DIR="${RESULTS_DIR:-$BENCH_DIR/results/$(date -u +%Y%m%dT%H%M%SZ)}"
SEED_PASSWORD="growth-diary-demo"
DATABASE_URL="postgres://${PGUSER}@${PGHOST}:${PGPORT}/${BENCH_DB}"

# The feed page of the Social core issue, as sent by curl; benches/feed.lua sends the same query.
FEED_QUERY='query Feed($after: String) { feed(first: 50, after: $after) { edges { node { id title author { id name } likeCount likedByMe replyCount replies(first: 3) { edges { node { id content author { id name } } } } } } pageInfo { endCursor hasNextPage } } }'
POST_QUERY='query Post($id: ID!) { post(id: $id) { id title content likeCount likedByMe author { name } } }'
LIKE_QUERY='mutation Like($id: ID!) { likePost(postId: $id) { likeCount } }'

# --- helpers ----------------------------------------------------------------------------------
BENCH_NAME=load.sh
# shellcheck source=benches/lib.sh
source "$BENCH_DIR/lib.sh"

SERVER_PID=""
SERVER_LOG=""
POLLER_PID=""
WORK_TMP="$(mktemp -d "${TMPDIR:-/tmp}/growth-diary-bench.XXXXXX")"

stop_server() {
    [[ -n "$SERVER_PID" ]] || return 0
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 1 150); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$SERVER_PID" 2>/dev/null; then
            log "server $SERVER_PID did not stop within 15 s; killing it"
            kill -KILL "$SERVER_PID" 2>/dev/null || true
        fi
    fi
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

stop_poller() {
    [[ -n "$POLLER_PID" ]] || return 0
    kill "$POLLER_PID" 2>/dev/null || true
    wait "$POLLER_PID" 2>/dev/null || true
    POLLER_PID=""
}

cleanup() {
    local rc=$?
    stop_poller
    stop_server
    rm -rf "$WORK_TMP"
    if ((rc != 0)); then log "failed (exit $rc); raw outputs in $RESULTS_DIR"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Starts the server in the background; $1 RUST_LOG, $2 log file. Sets SERVER_PID, PORT, *_URL.
start_server() {
    local rust_log="$1"
    SERVER_LOG="$2"
    PORT="$(free_port)"
    BASE_URL="http://127.0.0.1:$PORT"
    GRAPHQL_URL="$BASE_URL/graphql"
    local pool_env=()
    [[ -n "${DATABASE_POOL_SIZE:-}" ]] && pool_env=(DATABASE_POOL_SIZE="$DATABASE_POOL_SIZE")
    # >> (O_APPEND): the capture step marks positions in this log while the server writes to it.
    # LOG_SQL_BINDS: the capture step turns the traced statements, with their bind values,
    # into a pgbench script (the bench database holds only demo data).
    # LIKES_PER_HOUR: at the default (1,000 per user per hour) all but the first thousand
    # likePost requests of a run would measure the refusal, not the like.
    env DATABASE_URL="$DATABASE_URL" LISTEN_ADDR="127.0.0.1:$PORT" RUST_LOG="$rust_log" \
        LOG_SQL_BINDS=true NO_COLOR=1 LOG_FORMAT=text LIKES_PER_HOUR=1000000 "${pool_env[@]}" \
        "$BIN" serve >>"$SERVER_LOG" 2>&1 &
    SERVER_PID=$!
    local deadline=$((SECONDS + 120))
    until curl -fsS -m 2 -o /dev/null "$BASE_URL/readyz" 2>/dev/null; do
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            tail -n 20 "$SERVER_LOG" >&2 || true
            SERVER_PID=""
            die "the server exited during start-up (log: $SERVER_LOG)"
        fi
        ((SECONDS < deadline)) || { tail -n 20 "$SERVER_LOG" >&2; die "/readyz not 200 within 120 s"; }
        sleep 0.2
    done
    log "server $SERVER_PID ready on $BASE_URL (RUST_LOG=$rust_log)"
}

vm_field() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$SERVER_PID/status"; }  # kB

# CPU accounting: the server's user+system clock ticks, and the machine's total and idle ticks.
CLK_TCK="$(getconf CLK_TCK)"
server_ticks() { awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat"; }
machine_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9, $5 + $6 }' /proc/stat; }
# Sets C_BUSY: percent of all CPUs busy between two machine_ticks samples ($1 $2 before, $3 $4 after).
machine_busy() { C_BUSY="$(awk -v t0="$1" -v i0="$2" -v t1="$3" -v i1="$4" 'BEGIN { printf "%.0f", 100 * (1 - (i1 - i0) / (t1 - t0)) }')"; }

# Runs wrk; $1 name, $2 lua script, $3 seconds, $4 connections, $5 threads. Any further
# arguments are NAME=VALUE pairs for the environment of the Lua script. Sets W_RPS, W_P50,
# W_P99 (ms), W_REQUESTS, W_ERRORS, W_CPU (server CPU, % of one core), W_CPU_MS (server CPU
# ms per request), C_BUSY (machine busy %) and writes RESULTS_DIR/wrk-<name>.txt.
run_wrk() {
    local name="$1" script="$2" seconds="$3" conns="$4" threads="$5"
    shift 5
    local out="$RESULTS_DIR/wrk-$name.txt" s0 s1 m0 m1 t0
    s0="$(server_ticks)"; m0="$(machine_ticks)"; t0="$(date +%s.%N)"
    env "$@" wrk -t"$threads" -c"$conns" -d"${seconds}s" --timeout 10s --latency \
        -s "$BENCH_DIR/$script" "$GRAPHQL_URL" >"$out" 2>&1 || { cat "$out" >&2; die "wrk $name failed"; }
    s1="$(server_ticks)"; m1="$(machine_ticks)"
    # shellcheck disable=SC2086 # two numbers each
    machine_busy $m0 $m1
    W_RPS="$(awk '/^Requests\/sec:/ { print $2 }' "$out")"
    W_P50="$(to_ms "$(awk '$1 == "50%" { print $2 }' "$out")")"
    W_P99="$(to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")"
    W_REQUESTS="$(awk '/requests in/ { print $1 }' "$out")"
    local non2xx socket
    non2xx="$(awk -F: '/Non-2xx or 3xx responses/ { gsub(/ /, "", $2); print $2 }' "$out")"
    socket="$(awk '/Socket errors/ { sub(/.*Socket errors: /, ""); print }' "$out")"
    W_ERRORS="${non2xx:-0} non-2xx${socket:+; socket: $socket}"
    [[ -n "$W_RPS" ]] || { cat "$out" >&2; die "cannot read wrk's output for $name"; }
    W_CPU="$(awk -v a="$s0" -v b="$s1" -v hz="$CLK_TCK" -v t0="$t0" -v t1="$(date +%s.%N)" 'BEGIN { printf "%.0f", 100 * (b - a) / hz / (t1 - t0) }')"
    W_CPU_MS="$(awk -v a="$s0" -v b="$s1" -v hz="$CLK_TCK" -v n="$W_REQUESTS" 'BEGIN { if (n > 0) printf "%.2f", 1000 * (b - a) / hz / n; else print "n/a" }')"
    log "$name: ${W_RPS} req/s, p50 ${W_P50} ms, p99 ${W_P99} ms, ${W_REQUESTS} requests, errors: $W_ERRORS; server CPU ${W_CPU}% of a core (${W_CPU_MS} ms/request), machine ${C_BUSY}% busy"
}

# Warm-up (discarded) then the measured run; same arguments as run_wrk without the seconds.
scenario() {
    local name="$1" script="$2" conns="$3" threads="$4" warm="$5" measured="$6"
    shift 6
    log "$name: warm-up ${warm}s, then ${measured}s measured ($conns connections, $threads threads)"
    busy_check "$name"
    run_wrk "$name-warmup" "$script" "$warm" "$conns" "$threads" "$@"
    run_wrk "$name" "$script" "$measured" "$conns" "$threads" "$@"
}

# Other CPU-heavy work on this 2-core machine skews every figure: note it when seen.
NOTES=()
compilers() { ps -eo pid=,comm= | awk '$2 ~ /^(rustc|cargo|cargo-clippy|clippy-driver|rustdoc|cc1|cc1plus|ld|ld\.lld|lld|collect2)$/ { print $1 }' | paste -sd, -; }
wait_for_idle() {
    ((WAIT_FOR_IDLE > 0)) || return 0
    local deadline=$((SECONDS + WAIT_FOR_IDLE)) quiet=0
    while ((quiet < 3)); do
        if [[ -z "$(compilers)" ]]; then quiet=$((quiet + 1)); else quiet=0; fi
        ((quiet >= 3)) && break
        if ((SECONDS >= deadline)); then log "still busy after ${WAIT_FOR_IDLE}s; going on"; return 0; fi
        sleep 5
    done
    log "no compiler running for 15 s; load $(cut -d' ' -f1-3 /proc/loadavg)"
}
busy_check() {
    local others
    others="$(compilers)"
    if [[ -n "$others" ]]; then
        log "warning: compilers running during $1 (pids $others; load $(cut -d" " -f1-3 /proc/loadavg))"
        NOTES+=("compilers (rustc/cargo/cc/ld, pids $others) were running when $1 started")
    fi
}

ROWS=()   # lines of the summary's scenario table
add_row() { ROWS+=("| $1 | $2 | $W_RPS | $W_P50 | $W_P99 | $(awk -v a="$W_P99" -v b="$W_P50" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }') | $W_CPU% | $W_CPU_MS | $C_BUSY% | $W_ERRORS |"); }

# Splits a pgbench script into one file per statement ($2/stmt-N.sql); prints N.
split_statements() {
    perl -e '
        my ($file, $dir) = @ARGV;
        open my $fh, "<", $file or die "$file: $!\n";
        my $text = join "", grep { !/^\s*--/ } <$fh>;
        my $n = 0;
        for my $stmt (split /;\s*\n/, $text) {
            next unless $stmt =~ /\S/;
            $n++;
            open my $out, ">", "$dir/stmt-$n.sql" or die;
            print $out "$stmt\n";
        }
        print "$n\n";' "$1" "$2"
}

# EXPLAIN (ANALYZE, BUFFERS) of every statement of a pgbench script ($1), after one warm-up
# execution; plans go to RESULTS_DIR/explain-$2-N.txt, one summary line each to EXPLAIN_LINES.
EXPLAIN_LINES=()
explain_script() {
    local script="$1" label="$2" dir count i plan first indexes exec_time buffers
    dir="$(mktemp -d "$WORK_TMP/explain.XXXX")"
    count="$(split_statements "$script" "$dir")"
    for ((i = 1; i <= count; i++)); do
        case "$(head -c 6 "$dir/stmt-$i.sql" | tr '[:lower:]' '[:upper:]')" in
            SELECT | WITH*) ;;
            *) continue ;;
        esac
        { printf 'EXPLAIN (ANALYZE, BUFFERS) '; cat "$dir/stmt-$i.sql"; } >"$dir/explain-$i.sql"
        psql_bench -f "$dir/explain-$i.sql" >/dev/null            # warm the cache
        plan="$RESULTS_DIR/explain-$label-$i.txt"
        { echo "-- statement:"; cat "$dir/stmt-$i.sql"; echo "-- plan:"; psql_bench -f "$dir/explain-$i.sql"; } >"$plan"
        first="$(sed -n '/^-- plan:/{n;p;}' "$plan" | sed -E 's/  \(cost=.*//')"
        indexes="$({ grep -oE '(Index|Index Only|Bitmap Index) Scan( Backward)? (using|on) [a-z_0-9]+' "$plan" || true; } \
            | sort | uniq -c | awk '{ c = $1; $1 = ""; sub(/^ /, ""); printf "%s%s×%d", sep, $0, c; sep = ", " }')"
        exec_time="$(awk '/Execution Time/ { print $3 " ms" }' "$plan")"
        buffers="$(grep -m1 -oE 'Buffers: .*' "$plan" || echo 'Buffers: n/a')"
        EXPLAIN_LINES+=("| $label #$i | $(head -c 60 "$dir/stmt-$i.sql" | tr '\n' ' ' | sed 's/|/\\|/g')… | $first | ${indexes:-none} | $exec_time | $buffers |")
    done
}

# --- checks -------------------------------------------------------------------------------
[[ "$BENCH_DB" =~ ^[a-z_][a-z0-9_]*$ ]] || die "BENCH_DB must be a plain lower-case identifier"
[[ "$BENCH_DB" == *bench* ]] || die "BENCH_DB=$BENCH_DB: refusing to drop a database whose name lacks 'bench'"
for v in SEED_USERS SEED_POSTS_PER_USER SEED_LIKES SEED_REPLIES CONNECTIONS THREADS WARMUP DURATION \
    SINGLE_DURATION PGBENCH_CLIENTS PGBENCH_JOBS DEEP_POSITION BASE_PORT WAIT_FOR_IDLE; do
    is_uint "${!v}" || die "$v must be a non-negative integer (got '${!v}')"
done
((THREADS <= CONNECTIONS)) || die "THREADS ($THREADS) must not exceed CONNECTIONS ($CONNECTIONS)"
((DURATION > 0 && WARMUP > 0 && SINGLE_DURATION > 0)) || die "WARMUP, DURATION and SINGLE_DURATION must be > 0"
((DEEP_POSITION >= 50)) || die "DEEP_POSITION must be at least 50"
[[ "$PGBENCH_SQL" == captured || "$PGBENCH_SQL" == handwritten ]] || die "PGBENCH_SQL is captured or handwritten"

ensure_wrk
for tool in curl jq psql pgbench perl awk; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is missing (Debian: curl jq postgresql-client perl-base gawk/mawk)"
done
WRK_VERSION="$(dpkg-query -W -f='${Version}' wrk 2>/dev/null || wrk -v 2>&1 | head -n1)"
[[ "$WRK_VERSION" == "$WRK_DEB_VERSION" ]] || log "warning: wrk $WRK_VERSION is not the pinned $WRK_DEB_VERSION"
psql_admin -c 'SELECT 1' >/dev/null || die "cannot reach PostgreSQL at $PGHOST:$PGPORT as $PGUSER"
MAX_CONNECTIONS="$(psql_admin -c 'SHOW max_connections')"
((PGBENCH_CLIENTS + 5 <= MAX_CONNECTIONS)) || die "PGBENCH_CLIENTS=$PGBENCH_CLIENTS needs max_connections > $((PGBENCH_CLIENTS + 5)) (is $MAX_CONNECTIONS)"

mkdir -p "$RESULTS_DIR"
log "raw outputs go to $RESULTS_DIR"

# --- 1. build ---------------------------------------------------------------------------------
SOURCE_BIN="$(bench_binary)"
BIN="$WORK_TMP/growth-diary"
cp "$SOURCE_BIN" "$BIN"
BIN_BUILT="$(date -u -r "$SOURCE_BIN" +%Y-%m-%dT%H:%M:%SZ)"
BUILT_NOW=no
[[ -z "$BENCH_BIN" && "$SKIP_BUILD" != 1 ]] && BUILT_NOW=yes
GIT_REV="$(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null || echo unknown)"
GIT_DIRTY="$(git -C "$REPO_DIR" status --porcelain 2>/dev/null | grep -c . || true)"

# --- 2. database ----------------------------------------------------------------------------
seeded_email() {
    psql_bench -c "SELECT email FROM users WHERE email LIKE 'user1.%@seed.example.com' ORDER BY created_at DESC LIMIT 1" 2>/dev/null || true
}
DB_EXISTS="$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$BENCH_DB'")"
EMAIL=""
SEED_TIME="reused"
VACUUM_TIME="n/a"
if [[ "$REUSE_DB" == 1 && "$DB_EXISTS" == 1 ]]; then
    EMAIL="$(seeded_email)"
    [[ -n "$EMAIL" ]] && log "reusing $BENCH_DB (signing in as $EMAIL)"
fi
if [[ -z "$EMAIL" ]]; then
    log "dropping and recreating $BENCH_DB"
    psql_admin -c "DROP DATABASE IF EXISTS \"$BENCH_DB\" WITH (FORCE)"
    log "seeding: $SEED_USERS users × $SEED_POSTS_PER_USER posts, $SEED_LIKES likes, $SEED_REPLIES replies"
    started=$SECONDS
    DATABASE_URL="$DATABASE_URL" NO_COLOR=1 RUST_LOG=info "$BIN" seed --users "$SEED_USERS" \
        --posts-per-user "$SEED_POSTS_PER_USER" --likes "$SEED_LIKES" --replies "$SEED_REPLIES" \
        >"$RESULTS_DIR/seed.out" 2>"$RESULTS_DIR/seed.log" \
        || { tail -n 20 "$RESULTS_DIR/seed.log" >&2; die "growth-diary seed failed"; }
    SEED_TIME="$((SECONDS - started)) s"
    EMAIL="$(sed -n 's/^seeded: sign in as \([^ ]*\) with password .*/\1/p' "$RESULTS_DIR/seed.out")"
    [[ -n "$EMAIL" ]] || die "cannot read the seeded e-mail from $RESULTS_DIR/seed.out"
    log "seeded in $SEED_TIME; VACUUM ANALYZE + CHECKPOINT"
    started=$SECONDS
    psql_bench -c 'VACUUM (ANALYZE)'
    psql_bench -c 'CHECKPOINT'
    VACUUM_TIME="$((SECONDS - started)) s"
    log "vacuumed in $VACUUM_TIME"
fi
DATASET="$(psql_bench -F ' ' -c "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM posts),
    (SELECT count(*) FROM posts WHERE status = 'PUBLISHED' AND deleted_at IS NULL),
    (SELECT count(*) FROM likes), (SELECT count(*) FROM replies), pg_size_pretty(pg_database_size(current_database()))")"
read -r N_USERS N_POSTS N_PUBLISHED N_LIKES N_REPLIES DB_SIZE_NUM DB_SIZE_UNIT <<<"$DATASET"
log "dataset: $N_USERS users, $N_POSTS posts ($N_PUBLISHED published), $N_LIKES likes, $N_REPLIES replies, $DB_SIZE_NUM $DB_SIZE_UNIT"
((N_PUBLISHED >= DEEP_POSITION + 50)) || die "only $N_PUBLISHED published posts: lower DEEP_POSITION ($DEEP_POSITION)"

# Keyset cursor of the feed row at position $1 (1-based): base64url without padding of
# "<created_at in unix microseconds>:<uuid>", as src/db/pagination.rs encodes it.
cursor_at() {
    psql_bench -c "SELECT (extract(epoch FROM created_at) * 1000000)::bigint || ':' || id FROM posts
        WHERE status = 'PUBLISHED' AND deleted_at IS NULL ORDER BY created_at DESC, id DESC
        OFFSET $(($1 - 1)) LIMIT 1" | tr -d '\n' | base64 -w0 | tr '+/' '-_' | tr -d '='
}
DEEP_CURSOR="$(cursor_at "$DEEP_POSITION")"

# --- 3. the SQL of one feed page ----------------------------------------------------------------
log "capturing the SQL of one feed page (RUST_LOG=growth_diary::sql=trace, LOG_SQL_BINDS=true)"
CAPTURE_LOG="$RESULTS_DIR/server-capture.log"
: >"$CAPTURE_LOG"
start_server "warn,growth_diary::sql=trace" "$CAPTURE_LOG"
SIGNIN="$(graphql 'mutation SignIn($email: String!, $password: String!) { signIn(email: $email, password: $password) { token } }' \
    "$(jq -nc --arg e "$EMAIL" --arg p "$SEED_PASSWORD" '{email: $e, password: $p}')" "")"
check_graphql "signIn as $EMAIL" "$SIGNIN"
TOKEN="$(jq -r '.data.signIn.token' <<<"$SIGNIN")"
[[ -n "$TOKEN" && "$TOKEN" != null ]] || die "signIn returned no token: $SIGNIN"

# Lines $1+1.. of the capture log.
log_since() { tail -n "+$(($1 + 1))" "$CAPTURE_LOG"; }

# What the server runs while idle (the e-mail outbox poller ticks every second), to leave out.
sleep 0.5
mark="$(wc -l <"$CAPTURE_LOG")"
sleep 2.5
log_since "$mark" >"$RESULTS_DIR/sql-idle.log"

capture_page() {  # $1 name, $2 variables JSON
    local mark response
    mark="$(wc -l <"$CAPTURE_LOG")"
    response="$(graphql "$FEED_QUERY" "$2" "$TOKEN")"
    check_graphql "feed ($1)" "$response"
    sleep 0.5
    log_since "$mark" >"$RESULTS_DIR/sql-$1.log"
    printf '%s' "$response"
}
PAGE1="$(capture_page feed-page1 '{"after": null}')"
DEEP="$(capture_page feed-deep "$(jq -nc --arg a "$DEEP_CURSOR" '{after: $a}')")"
stop_server

# Sanity checks of the page and of the cursor format.
[[ "$(jq '.data.feed.edges | length' <<<"$PAGE1")" == 50 ]] || die "the feed page does not have 50 posts"
[[ "$(jq '.data.feed.edges | length' <<<"$DEEP")" == 50 ]] || die "the deep page does not have 50 posts"
[[ "$(jq -r '.data.feed.pageInfo.endCursor' <<<"$PAGE1")" == "$(cursor_at 50)" ]] \
    || die "the cursor computed in SQL does not match the server's endCursor; see cursor_at"
POST_ID="$(jq -r '.data.feed.edges[0].node.id' <<<"$PAGE1")"
DEEP_FIRST_ID="$(jq -r '.data.feed.edges[0].node.id' <<<"$DEEP")"
[[ "$DEEP_FIRST_ID" != "$POST_ID" ]] || die "the deep page starts with page 1's first post"

perl "$BENCH_DIR/trace2pgbench.pl" "$RESULTS_DIR/sql-feed-page1.log" "$RESULTS_DIR/sql-idle.log" \
    >"$RESULTS_DIR/feed-captured.pgbench" 2>"$RESULTS_DIR/trace2pgbench.log" \
    || { cat "$RESULTS_DIR/trace2pgbench.log" >&2; die "cannot turn the captured SQL into a pgbench script"; }
perl "$BENCH_DIR/trace2pgbench.pl" "$RESULTS_DIR/sql-feed-deep.log" "$RESULTS_DIR/sql-idle.log" \
    >"$RESULTS_DIR/feed-deep-captured.pgbench" 2>>"$RESULTS_DIR/trace2pgbench.log" \
    || { cat "$RESULTS_DIR/trace2pgbench.log" >&2; die "cannot turn the captured deep-page SQL into a pgbench script"; }
STATEMENTS_PAGE1="$(sed -n 's/^-- Statements: //p' "$RESULTS_DIR/feed-captured.pgbench")"
STATEMENTS_DEEP="$(sed -n 's/^-- Statements: //p' "$RESULTS_DIR/feed-deep-captured.pgbench")"
log "one feed page ran $STATEMENTS_PAGE1 statements (deep page: $STATEMENTS_DEEP)"

# The hand-written equivalent (PGBENCH_SQL=handwritten): (a) session lookup by sha256 of the
# token, (b) the page, (c) the viewer's likes among its posts, (d) the first 4 replies per post
# through a LATERAL join, (e) the authors of posts and replies by id = ANY(array).
write_handwritten() {
    local viewer hash posts users
    viewer="$(psql_bench -c "SELECT id FROM users WHERE email = '$EMAIL'")"
    hash="$(psql_bench -c "SELECT encode(session_token_sha256, 'hex') FROM sessions WHERE user_id = '$viewer' ORDER BY created_at DESC LIMIT 1")"
    posts="$(psql_bench -c "SELECT string_agg(id::text, ',' ORDER BY created_at DESC, id DESC) FROM (SELECT id, created_at FROM posts
        WHERE status = 'PUBLISHED' AND deleted_at IS NULL ORDER BY created_at DESC, id DESC LIMIT 50) p")"
    users="$(psql_bench -c "SELECT string_agg(DISTINCT a::text, ',') FROM (
        SELECT author_id FROM posts WHERE id = ANY('{$posts}'::uuid[])
        UNION SELECT r.author_id FROM unnest('{$posts}'::uuid[]) AS p(id) CROSS JOIN LATERAL (
            SELECT author_id FROM replies WHERE post_id = p.id AND deleted_at IS NULL ORDER BY created_at, id LIMIT 3) r) x(a)")"
    cat <<EOF
-- One feed page, hand-written equivalent of the server's SQL (benches/load.sh, PGBENCH_SQL=handwritten).
SELECT id, user_id, expires, created_at FROM sessions WHERE session_token_sha256 = '\\x$hash'::bytea AND expires > now() LIMIT 1;
SELECT id, author_id, title, content, status, like_count, reply_count, created_at, updated_at FROM posts WHERE status = 'PUBLISHED' AND deleted_at IS NULL ORDER BY created_at DESC, id DESC LIMIT 51;
SELECT post_id FROM likes WHERE user_id = '$viewer'::uuid AND post_id = ANY('{$posts}'::uuid[]);
SELECT r.id, r.author_id, r.post_id, r.content, r.created_at, r.updated_at FROM unnest('{$posts}'::uuid[]) AS p(id) CROSS JOIN LATERAL (SELECT * FROM replies WHERE post_id = p.id AND deleted_at IS NULL ORDER BY created_at, id LIMIT 4) r;
SELECT * FROM users WHERE id = ANY('{$users}'::uuid[]);
EOF
}
if [[ "$PGBENCH_SQL" == captured ]]; then
    cp "$RESULTS_DIR/feed-captured.pgbench" "$BENCH_DIR/feed.pgbench"
else
    write_handwritten >"$BENCH_DIR/feed.pgbench"
fi
cp "$BENCH_DIR/feed.pgbench" "$RESULTS_DIR/feed.pgbench"
pgbench -n -M prepared -t 1 -f "$BENCH_DIR/feed.pgbench" "$BENCH_DB" >"$RESULTS_DIR/pgbench-check.txt" 2>&1 \
    || { cat "$RESULTS_DIR/pgbench-check.txt" >&2; die "benches/feed.pgbench does not run under pgbench"; }

log "EXPLAIN (ANALYZE, BUFFERS) of the captured statements"
explain_script "$RESULTS_DIR/feed-captured.pgbench" page1
explain_script "$RESULTS_DIR/feed-deep-captured.pgbench" deep

# --- 4. load ------------------------------------------------------------------------------------
wait_for_idle
start_server "$SERVER_RUST_LOG" "$RESULTS_DIR/server.log"
check_graphql "feed" "$(graphql "$FEED_QUERY" '{"after": null}' "$TOKEN")"
check_graphql "post(id)" "$(graphql "$POST_QUERY" "$(jq -nc --arg id "$POST_ID" '{id: $id}')" "$TOKEN")"
check_graphql "likePost" "$(graphql "$LIKE_QUERY" "$(jq -nc --arg id "$POST_ID" '{id: $id}')" "$TOKEN")"
RSS_AT_START_KB="$(vm_field VmRSS)"
HWM_BEFORE_FEED_KB="$(vm_field VmHWM)"

# Peak RSS during the feed scenario: reset the high-water mark (Linux >= 4.0), poll VmRSS too.
HWM_RESET=no
if echo 5 >"/proc/$SERVER_PID/clear_refs" 2>/dev/null; then HWM_RESET=yes; fi
POLL_FILE="$WORK_TMP/rss-max"
(
    max=0
    while kill -0 "$SERVER_PID" 2>/dev/null; do
        rss="$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$SERVER_PID/status" 2>/dev/null || echo 0)"
        ((${rss:-0} > max)) && { max=$rss; echo "$max" >"$POLL_FILE"; }
        sleep 0.1
    done
) &
POLLER_PID=$!

scenario feed feed.lua "$CONNECTIONS" "$THREADS" "$WARMUP" "$DURATION" BENCH_TOKEN="$TOKEN"
add_row "feed, page 1 (first: 50)" "$CONNECTIONS"
FEED_RPS="$W_RPS"; FEED_P50="$W_P50"
HWM_FEED_KB="$(vm_field VmHWM)"
stop_poller
POLL_MAX_KB="$(cat "$POLL_FILE" 2>/dev/null || echo 0)"
log "peak RSS during the feed scenario: VmHWM $((HWM_FEED_KB / 1024)) MiB (reset: $HWM_RESET), polled max $((POLL_MAX_KB / 1024)) MiB"

scenario post post.lua "$CONNECTIONS" "$THREADS" "$WARMUP" "$DURATION" BENCH_TOKEN="$TOKEN" BENCH_POST_ID="$POST_ID"
add_row "post(id)" "$CONNECTIONS"
scenario like like.lua "$CONNECTIONS" "$THREADS" "$WARMUP" "$DURATION" BENCH_TOKEN="$TOKEN" BENCH_POST_ID="$POST_ID"
add_row "likePost (idempotent)" "$CONNECTIONS"

# --- 5. page 1 against a deep page ----------------------------------------------------------------
check_graphql "feed deep page" "$(graphql "$FEED_QUERY" "$(jq -nc --arg a "$DEEP_CURSOR" '{after: $a}')" "$TOKEN")"
scenario feed-deep feed.lua "$CONNECTIONS" "$THREADS" "$WARMUP" "$DURATION" BENCH_TOKEN="$TOKEN" BENCH_AFTER="$DEEP_CURSOR"
add_row "feed, page after position $DEEP_POSITION" "$CONNECTIONS"
DEEP_P50="$W_P50"
SINGLE_WARMUP=$(((WARMUP + 1) / 2))
scenario feed-1conn feed.lua 1 1 "$SINGLE_WARMUP" "$SINGLE_DURATION" BENCH_TOKEN="$TOKEN"
add_row "feed, page 1, 1 connection" 1
FEED1_P50="$W_P50"
scenario feed-deep-1conn feed.lua 1 1 "$SINGLE_WARMUP" "$SINGLE_DURATION" BENCH_TOKEN="$TOKEN" BENCH_AFTER="$DEEP_CURSOR"
add_row "feed, page after position $DEEP_POSITION, 1 connection" 1
DEEP1_P50="$W_P50"
check_graphql "feed after the load" "$(graphql "$FEED_QUERY" '{"after": null}' "$TOKEN")"
SERVER_ERRORS="$(grep -cE ' (ERROR|WARN) ' "$RESULTS_DIR/server.log" || true)"
stop_server

# --- 6. the database's own limit -------------------------------------------------------------------
wait_for_idle
log "pgbench: warm-up ${WARMUP}s, then ${DURATION}s measured ($PGBENCH_CLIENTS clients, $PGBENCH_JOBS jobs)"
busy_check pgbench
pgbench -n -M prepared -c "$PGBENCH_CLIENTS" -j "$PGBENCH_JOBS" -T "$WARMUP" -f "$BENCH_DIR/feed.pgbench" "$BENCH_DB" \
    >"$RESULTS_DIR/pgbench-warmup.txt" 2>&1 || { cat "$RESULTS_DIR/pgbench-warmup.txt" >&2; die "pgbench warm-up failed"; }
m0="$(machine_ticks)"
pgbench -n -M prepared -c "$PGBENCH_CLIENTS" -j "$PGBENCH_JOBS" -T "$DURATION" -f "$BENCH_DIR/feed.pgbench" "$BENCH_DB" \
    >"$RESULTS_DIR/pgbench.txt" 2>&1 || { cat "$RESULTS_DIR/pgbench.txt" >&2; die "pgbench failed"; }
# shellcheck disable=SC2086 # two numbers each
machine_busy $m0 $(machine_ticks)
PGBENCH_BUSY="$C_BUSY"
PGBENCH_TPS="$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' "$RESULTS_DIR/pgbench.txt")"
PGBENCH_LAT="$(sed -n 's/^latency average = \(.*\)$/\1/p' "$RESULTS_DIR/pgbench.txt")"
PGBENCH_FAILED="$(sed -n 's/^number of failed transactions: \(.*\)$/\1/p' "$RESULTS_DIR/pgbench.txt")"
log "pgbench: $PGBENCH_TPS feed pages/s (latency average $PGBENCH_LAT; failed: ${PGBENCH_FAILED:-n/a})"

# --- 7. summary ----------------------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
{
    echo "## growth-diary load benchmark ($(date -u +%Y-%m-%dT%H:%MZ))"
    echo
    echo "Machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p' | head -n1), $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM."
    echo "Build: $SOURCE_BIN of $BIN_BUILT (built by this run: $BUILT_NOW); work tree at HEAD $GIT_REV with $GIT_DIRTY uncommitted paths when the run started. Server pool: ${DATABASE_POOL_SIZE:-10 (default)}, RUST_LOG=$SERVER_RUST_LOG."
    echo "Tools: wrk $WRK_VERSION, $(pgbench --version), $(psql -X -At -d postgres -c 'SHOW server_version') server, max_connections $MAX_CONNECTIONS."
    echo "Dataset ($BENCH_DB): $N_USERS users, $N_POSTS posts ($N_PUBLISHED published), $N_LIKES likes, $N_REPLIES replies; $DB_SIZE_NUM $DB_SIZE_UNIT. Seed: $SEED_TIME, VACUUM ANALYZE + CHECKPOINT: $VACUUM_TIME."
    echo
    echo "wrk: ${WARMUP}s warm-up (discarded), ${DURATION}s measured (1-connection runs: ${SINGLE_DURATION}s), ${THREADS} threads, signed in."
    echo
    echo "| scenario | connections | requests/s | p50 ms | p99 ms | p99/p50 | server CPU (of 1 core) | server CPU ms/request | machine busy | errors |"
    echo "|---|---|---|---|---|---|---|---|---|---|"
    printf '%s\n' "${ROWS[@]}"
    echo
    echo "| figure | value |"
    echo "|---|---|"
    echo "| SQL statements per feed page (captured, incl. session lookup) | page 1: $STATEMENTS_PAGE1, deep page: $STATEMENTS_DEEP |"
    echo "| pgbench -M prepared, $PGBENCH_CLIENTS clients, $PGBENCH_JOBS jobs, ${DURATION}s, one feed page per transaction ($PGBENCH_SQL SQL) | $PGBENCH_TPS pages/s (latency average $PGBENCH_LAT, failed ${PGBENCH_FAILED:-n/a}; machine ${PGBENCH_BUSY}% busy) |"
    echo "| feed requests/s ÷ pgbench pages/s | $(ratio "$FEED_RPS" "$PGBENCH_TPS") |"
    echo "| server peak RSS during the feed scenario (VmHWM, reset before it: $HWM_RESET) | $(mib "$HWM_FEED_KB") MiB |"
    echo "| server max VmRSS polled every 100 ms during it | $(mib "$POLL_MAX_KB") MiB |"
    echo "| server RSS after start-up and 3 requests (VmRSS / VmHWM) | $(mib "$RSS_AT_START_KB") / $(mib "$HWM_BEFORE_FEED_KB") MiB |"
    echo "| feed p50 deep page ÷ page 1, $CONNECTIONS connections | $(ratio "$DEEP_P50" "$FEED_P50") ($DEEP_P50 / $FEED_P50 ms) |"
    echo "| feed p50 deep page ÷ page 1, 1 connection | $(ratio "$DEEP1_P50" "$FEED1_P50") ($DEEP1_P50 / $FEED1_P50 ms) |"
    echo "| WARN/ERROR lines in the server log during the load | $SERVER_ERRORS |"
    echo
    echo "EXPLAIN (ANALYZE, BUFFERS), after one warm-up execution of each statement:"
    echo
    echo "| statement | starts | top plan node | index scans | execution | top buffers |"
    echo "|---|---|---|---|---|---|"
    printf '%s\n' "${EXPLAIN_LINES[@]}"
    echo
    echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
    if ((${#NOTES[@]})); then printf -- '- note: %s\n' "${NOTES[@]}"; fi
    echo
    echo "Raw outputs: $RESULTS_DIR"
} >"$RESULTS_DIR/summary.md"
cat "$RESULTS_DIR/summary.md"
