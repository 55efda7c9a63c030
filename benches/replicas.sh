#!/usr/bin/env bash
# benches/replicas.sh: the signed-in feed page with and without a streaming read replica.
#
# What it does, in order:
#   1. builds the release binary (cargo build --release; SKIP_BUILD=1 or BENCH_BIN=… to skip) and
#      runs a private copy of it;
#   2. starts a private PostgreSQL primary in a temporary directory (initdb, its own port; the
#      machine's PostgreSQL is not touched), seeds it with `growth-diary seed` (by default a
#      smaller dataset than benches/load.sh's: 2,000 users × 20 posts, 200,000 likes, 80,000
#      replies), VACUUM ANALYZE + CHECKPOINT, then makes a streaming replica of it with
#      pg_basebackup -R on another port and waits until it has replayed everything;
#   3. signs in as a seeded user (the session's last write is then on the replica too);
#   4. ROUNDS times, alternating: the server on the primary alone ("primary"), then the server
#      with DATABASE_REPLICA_URLS set to the replica ("replica"); each time a warm-up wrk run
#      (thrown away) and a measured one (benches/feed.lua, --latency), with
#        - requests/s, p50 and p99 from wrk,
#        - the transactions each database served (pg_stat_database xact_commit + xact_rollback of
#          the bench database; every read of the server is one autocommit statement, so this counts
#          statements too), taken with no server connected before it starts and after it stopped
#          (a backend flushes its statistics when it exits), so they cover start-up, warm-up and
#          measured run,
#        - the server's own count of requests by where their reads went
#          (growth_diary_graphql_reads_total{target}, measured run only),
#        - CPU time of the server, of the primary's and of the replica's processes (measured run);
#   5. prints a markdown summary, also saved as RESULTS_DIR/summary.md with the raw outputs.
# Everything it started is stopped on exit, and the temporary directory is deleted.
#
# Usage:   benches/replicas.sh
# Smoke:   SEED_USERS=200 SEED_LIKES=5000 SEED_REPLIES=2000 WARMUP=1 DURATION=3 ROUNDS=1 benches/replicas.sh
#
# Settings (environment):
#   SEED_USERS, SEED_POSTS_PER_USER, SEED_LIKES, SEED_REPLIES   dataset (2000, 20, 200000, 80000)
#   CONNECTIONS, THREADS    wrk connections and threads (64, 2)
#   WARMUP, DURATION        seconds of the discarded warm-up and of the measured run (5, 20)
#   ROUNDS                  how many primary/replica pairs to run (3)
#   BASE_PORT               first port tried for PostgreSQL and the server (18300)
#   DATABASE_POOL_SIZE      passed to the server when set (its default: 10, per database)
#   SKIP_BUILD=1            do not run cargo; BENCH_BIN=/path/to/growth-diary uses that binary
#   RESULTS_DIR             where raw outputs go (benches/results/replicas-<UTC timestamp>)
#
# What the figures can mean on one machine: the primary, the replica, the server and wrk all
# share the same CPUs. A replica adds no CPU here, it only moves the database's share of the
# work to other processes (and adds the replica's WAL replay and its own caches); the share of
# transactions the replica served is what carries over to a replica on its own machine.
#
# Needs: PostgreSQL's server programs (Debian: postgresql-15; initdb, pg_ctl, pg_basebackup are
# taken from the newest /usr/lib/postgresql/*/bin), psql, wrk (installed with apt-get when
# missing, as benches/load.sh does), curl, jq. As root, PostgreSQL runs as the postgres account.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$BENCH_DIR/.." && pwd)"

# --- settings -------------------------------------------------------------------------------
SEED_USERS="${SEED_USERS:-2000}"
SEED_POSTS_PER_USER="${SEED_POSTS_PER_USER:-20}"
SEED_LIKES="${SEED_LIKES:-200000}"
SEED_REPLIES="${SEED_REPLIES:-80000}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-2}"
WARMUP="${WARMUP:-5}"
DURATION="${DURATION:-20}"
ROUNDS="${ROUNDS:-3}"
BASE_PORT="${BASE_PORT:-18300}"
SKIP_BUILD="${SKIP_BUILD:-0}"
BENCH_BIN="${BENCH_BIN:-}"
RESULTS_DIR="${RESULTS_DIR:-$BENCH_DIR/results/replicas-$(date -u +%Y%m%dT%H%M%SZ)}"
BENCH_DB=growth_diary_bench
SEED_PASSWORD="growth-diary-demo"
METRICS_TOKEN="replicas-bench-metrics-token-0123456789"

BENCH_NAME=replicas.sh
# shellcheck source=benches/lib.sh
source "$BENCH_DIR/lib.sh"

for v in SEED_USERS SEED_POSTS_PER_USER SEED_LIKES SEED_REPLIES CONNECTIONS THREADS WARMUP DURATION ROUNDS BASE_PORT; do
    is_uint "${!v}" || die "$v must be a non-negative integer (got '${!v}')"
done
((THREADS <= CONNECTIONS && DURATION > 0 && WARMUP > 0 && ROUNDS > 0)) || die "check THREADS, DURATION, WARMUP, ROUNDS"

WORK_TMP="$(mktemp -d "${TMPDIR:-/tmp}/growth-diary-replicas.XXXXXX")"
SERVER_PID=""
PG_BIN=""

as_postgres() { if ((EUID == 0)); then runuser -u postgres -- "$@"; else "$@"; fi; }

# pg_ctl on data directory $1 (primary|replica): $2 start|stop, $3 port.
pg_ctl_do() {
    local data="$WORK_TMP/$1"
    [[ -f "$data/PG_VERSION" ]] || return 0
    if [[ "$2" == start ]]; then
        as_postgres "$PG_BIN/pg_ctl" -D "$data" -l "$WORK_TMP/$1.log" -w \
            -o "-p $3 -k $WORK_TMP -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
    else
        as_postgres "$PG_BIN/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
    fi
}

stop_server() {
    [[ -n "$SERVER_PID" ]] || return 0
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 150); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$SERVER_PID" 2>/dev/null && kill -KILL "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

cleanup() {
    local rc=$?
    stop_server
    pg_ctl_do replica stop
    pg_ctl_do primary stop
    rm -rf "$WORK_TMP"
    ((rc == 0)) || log "failed (exit $rc); raw outputs in $RESULTS_DIR"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ensure_wrk
for tool in curl jq psql awk; do command -v "$tool" >/dev/null 2>&1 || die "$tool is missing"; done
PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
[[ -x "$PG_BIN/pg_basebackup" && -x "$PG_BIN/initdb" ]] || die "PostgreSQL's server programs are missing (apt-get install postgresql-15)"
mkdir -p "$RESULTS_DIR"
log "raw outputs go to $RESULTS_DIR"

# --- 1. build -------------------------------------------------------------------------------
SOURCE_BIN="$(bench_binary)"
BIN="$WORK_TMP/growth-diary"
cp "$SOURCE_BIN" "$BIN"
GIT_REV="$(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null || echo unknown)"
GIT_DIRTY="$(git -C "$REPO_DIR" status --porcelain 2>/dev/null | grep -c . || true)"

# --- 2. primary, seed, replica ----------------------------------------------------------------
((EUID == 0)) && chown postgres:postgres "$WORK_TMP"
PRIMARY_PORT="$(free_port)"
as_postgres "$PG_BIN/initdb" -D "$WORK_TMP/primary" --auth=trust -U postgres --no-sync >"$RESULTS_DIR/initdb.log"
pg_ctl_do primary start "$PRIMARY_PORT"
PRIMARY_URL="postgres://postgres@127.0.0.1:$PRIMARY_PORT/$BENCH_DB?sslmode=disable"
psql_on() { local port="$1"; shift; psql -X -q -v ON_ERROR_STOP=1 -At -h 127.0.0.1 -p "$port" -U postgres "$@"; }

log "seeding the primary (:$PRIMARY_PORT): $SEED_USERS users × $SEED_POSTS_PER_USER posts, $SEED_LIKES likes, $SEED_REPLIES replies"
started=$SECONDS
DATABASE_URL="$PRIMARY_URL" NO_COLOR=1 RUST_LOG=info "$BIN" seed --users "$SEED_USERS" \
    --posts-per-user "$SEED_POSTS_PER_USER" --likes "$SEED_LIKES" --replies "$SEED_REPLIES" \
    >"$RESULTS_DIR/seed.out" 2>"$RESULTS_DIR/seed.log" \
    || { tail -n 20 "$RESULTS_DIR/seed.log" >&2; die "growth-diary seed failed"; }
EMAIL="$(sed -n 's/^seeded: sign in as \([^ ]*\) with password .*/\1/p' "$RESULTS_DIR/seed.out")"
[[ -n "$EMAIL" ]] || die "cannot read the seeded e-mail from $RESULTS_DIR/seed.out"
psql_on "$PRIMARY_PORT" -d "$BENCH_DB" -c 'VACUUM (ANALYZE)' -c 'CHECKPOINT'
log "seeded and vacuumed in $((SECONDS - started)) s"
DATASET="$(psql_on "$PRIMARY_PORT" -d "$BENCH_DB" -F ' ' -c "SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM posts),
    (SELECT count(*) FROM likes), (SELECT count(*) FROM replies), pg_size_pretty(pg_database_size(current_database()))")"
read -r N_USERS N_POSTS N_LIKES N_REPLIES DB_SIZE <<<"$(sed 's/ \([kMG]B\)$/\1/' <<<"$DATASET")"

REPLICA_PORT="$(free_port)"
log "base backup for the replica (:$REPLICA_PORT)"
as_postgres "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -D "$WORK_TMP/replica" \
    -R -X stream --checkpoint=fast --no-sync
pg_ctl_do replica start "$REPLICA_PORT"
REPLICA_URL="postgres://postgres@127.0.0.1:$REPLICA_PORT/$BENCH_DB?sslmode=disable"

# Waits until the replica has replayed everything the primary wrote.
wait_replayed() {
    local target deadline=$((SECONDS + 60))
    target="$(psql_on "$PRIMARY_PORT" -d postgres -c 'SELECT pg_current_wal_lsn()')"
    until [[ "$(psql_on "$REPLICA_PORT" -d postgres -c "SELECT coalesce(pg_last_wal_replay_lsn() >= '$target', false)" 2>/dev/null)" == t ]]; do
        ((SECONDS < deadline)) || die "the replica did not replay up to $target within 60 s"
        sleep 0.2
    done
}

# --- 3. a signed-in reader --------------------------------------------------------------------
SERVER_LOG="$RESULTS_DIR/server.log"
start_server() {  # $1: primary|replica
    local replica_env=() pool_env=()
    [[ "$1" == replica ]] && replica_env=(DATABASE_REPLICA_URLS="$REPLICA_URL")
    [[ -n "${DATABASE_POOL_SIZE:-}" ]] && pool_env=(DATABASE_POOL_SIZE="$DATABASE_POOL_SIZE")
    PORT="$(free_port)"
    BASE_URL="http://127.0.0.1:$PORT"
    GRAPHQL_URL="$BASE_URL/graphql"
    echo "--- server ($1) on :$PORT" >>"$SERVER_LOG"
    env DATABASE_URL="$PRIMARY_URL" "${replica_env[@]}" "${pool_env[@]}" LISTEN_ADDR="127.0.0.1:$PORT" \
        METRICS_TOKEN="$METRICS_TOKEN" RUST_LOG=warn NO_COLOR=1 LOG_FORMAT=text "$BIN" serve >>"$SERVER_LOG" 2>&1 &
    SERVER_PID=$!
    local deadline=$((SECONDS + 120))
    until curl -fsS -m 2 -o /dev/null "$BASE_URL/readyz" 2>/dev/null; do
        kill -0 "$SERVER_PID" 2>/dev/null || { SERVER_PID=""; tail -n 20 "$SERVER_LOG" >&2; die "the server exited during start-up"; }
        ((SECONDS < deadline)) || die "/readyz not 200 within 120 s"
        sleep 0.2
    done
    if [[ "$1" == replica ]]; then
        until [[ "$(metric growth_diary_replicas_healthy)" == 1 ]]; do
            ((SECONDS < deadline)) || die "the replica never took reads"
            sleep 0.2
        done
    fi
}
metrics_text() { curl -fsS -m 5 -H "Authorization: Bearer $METRICS_TOKEN" "$BASE_URL/metrics"; }
metric() {  # $1 a family with its labels as printed, e.g. growth_diary_graphql_reads_total{target="replica"}
    metrics_text | awk -v m="$1" '$1 == m { print $2; found = 1 } END { if (!found) print 0 }'
}

start_server primary
SIGNIN="$(graphql 'mutation SignIn($email: String!, $password: String!) { signIn(email: $email, password: $password) { token } }' \
    "$(jq -nc --arg e "$EMAIL" --arg p "$SEED_PASSWORD" '{email: $e, password: $p}')" "")"
check_graphql "signIn as $EMAIL" "$SIGNIN"
TOKEN="$(jq -r '.data.signIn.token' <<<"$SIGNIN")"
stop_server
wait_replayed

# --- 4. the runs ------------------------------------------------------------------------------
CLK_TCK="$(getconf CLK_TCK)"
# CPU ticks of a process and, for a postmaster, of the children it reaped and those alive.
ticks_of() { awk '{ print $14 + $15 + $16 + $17 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
cluster_ticks() {
    local postmaster total=0 pid
    postmaster="$(head -n 1 "$WORK_TMP/$1/postmaster.pid")"
    total="$(ticks_of "$postmaster")"
    for pid in $(pgrep -P "$postmaster"); do
        total=$((total + $(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0)))
    done
    echo "$total"
}
# Transactions the bench database has served on the database at port $1.
transactions() { psql_on "$1" -d postgres -c "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = '$BENCH_DB'"; }
cpu_s() { awk -v a="$1" -v b="$2" -v hz="$CLK_TCK" 'BEGIN { printf "%.1f", (b - a) / hz }'; }
# The machine's total and idle ticks (all CPUs).
machine_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9, $5 + $6 }' /proc/stat; }

ROWS=()
FEED_CHECK='{ feed(first: 50) { edges { node { id } } } }'
run_mode() {  # $1 primary|replica, $2 round
    local mode="$1" name="$1-$2" out p0 r0 p1 r1 reads_p reads_r cpu0 cpu1 share
    p0="$(transactions "$PRIMARY_PORT")"; r0="$(transactions "$REPLICA_PORT")"
    start_server "$mode"
    check_graphql "the feed ($mode)" "$(graphql "$FEED_CHECK" '{}' "$TOKEN")"
    log "$name: warm-up ${WARMUP}s, then ${DURATION}s measured ($CONNECTIONS connections, $THREADS threads)"
    BENCH_TOKEN="$TOKEN" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" --timeout 10s \
        -s "$BENCH_DIR/feed.lua" "$GRAPHQL_URL" >"$RESULTS_DIR/wrk-$name-warmup.txt" 2>&1 || die "wrk warm-up failed"
    reads_p="$(metric 'growth_diary_graphql_reads_total{target="primary"}')"
    reads_r="$(metric 'growth_diary_graphql_reads_total{target="replica"}')"
    cpu0="$(awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat") $(cluster_ticks primary) $(cluster_ticks replica) $(machine_ticks)"
    out="$RESULTS_DIR/wrk-$name.txt"
    BENCH_TOKEN="$TOKEN" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --timeout 10s --latency \
        -s "$BENCH_DIR/feed.lua" "$GRAPHQL_URL" >"$out" 2>&1 || { cat "$out" >&2; die "wrk $name failed"; }
    cpu1="$(awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat") $(cluster_ticks primary) $(cluster_ticks replica) $(machine_ticks)"
    reads_p="$(($(metric 'growth_diary_graphql_reads_total{target="primary"}') - reads_p))"
    reads_r="$(($(metric 'growth_diary_graphql_reads_total{target="replica"}') - reads_r))"
    stop_server
    sleep 1
    p1="$(transactions "$PRIMARY_PORT")"; r1="$(transactions "$REPLICA_PORT")"
    local rps p50 p99 errors
    rps="$(awk '/^Requests\/sec:/ { print $2 }' "$out")"
    p50="$(to_ms "$(awk '$1 == "50%" { print $2 }' "$out")")"
    p99="$(to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")"
    errors="$(awk -F: '/Non-2xx or 3xx responses|Socket errors/ { gsub(/^ +/, "", $2); printf "%s%s", sep, $0; sep = "; " }' "$out")"
    [[ -n "$rps" ]] || { cat "$out" >&2; die "cannot read wrk's output for $name"; }
    share="$(awk -v p="$((p1 - p0))" -v r="$((r1 - r0))" 'BEGIN { if (p + r > 0) printf "%.1f", 100 * r / (p + r); else print "n/a" }')"
    local s0 pp0 rr0 m0 i0 s1 pp1 rr1 m1 i1 requests per_request busy others
    read -r s0 pp0 rr0 m0 i0 <<<"$cpu0"
    read -r s1 pp1 rr1 m1 i1 <<<"$cpu1"
    requests="$(awk '/requests in/ { print $1 }' "$out")"
    # CPU of the server and both databases per request, and what the rest of the machine took:
    # on a shared machine requests/s moves with the others' load, CPU per request much less.
    per_request="$(awk -v t="$(((s1 - s0) + (pp1 - pp0) + (rr1 - rr0)))" -v hz="$CLK_TCK" -v n="$requests" \
        'BEGIN { if (n > 0) printf "%.2f", 1000 * t / hz / n; else print "n/a" }')"
    busy="$(awk -v t0="$m0" -v i0="$i0" -v t1="$m1" -v i1="$i1" 'BEGIN { printf "%.0f", 100 * (1 - (i1 - i0) / (t1 - t0)) }')"
    others="$(awk -v t0="$m0" -v i0="$i0" -v t1="$m1" -v i1="$i1" -v ours="$(((s1 - s0) + (pp1 - pp0) + (rr1 - rr0)))" \
        'BEGIN { busy = (t1 - t0) - (i1 - i0); printf "%.0f", 100 * (busy - ours) / (t1 - t0) }')"
    log "$name: $rps req/s, p50 $p50 ms, p99 $p99 ms; transactions primary $((p1 - p0)), replica $((r1 - r0)) ($share% on the replica); requests read on replica $reads_r, primary $reads_p"
    ROWS+=("| $name | $rps | $p50 | $p99 | $((p1 - p0)) | $((r1 - r0)) | $share% | $reads_r / $reads_p | $(cpu_s "$s0" "$s1") / $(cpu_s "$pp0" "$pp1") / $(cpu_s "$rr0" "$rr1") | $per_request | $busy% ($others% others) | ${errors:-none} |")
}
for ((round = 1; round <= ROUNDS; round++)); do
    run_mode primary "$round"
    run_mode replica "$round"
done

# --- 5. summary -------------------------------------------------------------------------------
{
    echo "## Feed with and without a read replica (benches/replicas.sh)"
    echo
    echo "Date: $(date -u +%Y-%m-%dT%H:%MZ). Commit: $GIT_REV$( ((GIT_DIRTY > 0)) && echo " (+$GIT_DIRTY uncommitted files)")."
    echo "Machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p' | head -n1), $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM; load before the runs $(cut -d' ' -f1-3 /proc/loadavg)."
    echo "PostgreSQL $("$PG_BIN/postgres" --version | awk '{ print $3 }'): a private primary and a streaming replica (pg_basebackup -R, no apply delay) on the same machine, fsync=off, other settings default."
    echo "Dataset: $N_USERS users, $N_POSTS posts, $N_LIKES likes, $N_REPLIES replies ($DB_SIZE)."
    echo "Load: wrk $CONNECTIONS connections, $THREADS threads, ${WARMUP}s warm-up then ${DURATION}s measured, benches/feed.lua (signed-in feed page of 50 posts)."
    echo
    echo "| run | requests/s | p50 ms | p99 ms | transactions on primary | on replica | replica share | requests read on replica / primary (measured run) | CPU s: server / primary / replica (measured run) | CPU ms per request (all three) | machine busy (others: wrk, other work) | errors |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
    printf '%s\n' "${ROWS[@]}"
    echo
    echo "Transactions are pg_stat_database's xact_commit + xact_rollback of the bench database on each, from before the"
    echo "server started to after it stopped (start-up, warm-up and measured run; every read is one autocommit statement)."
    echo "All processes share the same CPUs: the replica moves the database's work, it adds no CPU here. Requests/s"
    echo "follows whatever else the machine runs (see the last columns); CPU per request compares the modes more fairly."
} | tee "$RESULTS_DIR/summary.md"
