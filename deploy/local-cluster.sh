#!/usr/bin/env bash
# The production shape on one machine, from Debian's packages and this binary:
#
#                      HAProxy :8000  (checks /readyz)
#                      /            \
#        growth-diary :8001     growth-diary :8002
#               |   \  reads          /   |
#               |    \--------------------+--> replica :5433 (streaming, pg_basebackup)
#          writes|                         |
#        PgBouncer :6433 (transaction mode) |  LISTEN, migrations, advisory locks
#               |                          |
#          primary :5434 <-----------------+
#
#   deploy/local-cluster.sh start [BINARY]   build nothing; start everything (default BINARY: target/release/growth-diary)
#   deploy/local-cluster.sh stop             stop everything (data stays in $CLUSTER_DIR)
#   deploy/local-cluster.sh status           what runs, and the replica's lag
#   deploy/local-cluster.sh destroy          stop, and delete $CLUSTER_DIR
#
# Settings (environment): CLUSTER_DIR (default ./.cluster), BASE_PORT for
# PostgreSQL (default 5434: primary; +1 replica), POOLER_PORT (6433),
# HTTP_PORT (8000; instances on +1 and +2). Needs: postgresql, pgbouncer,
# haproxy (apt-get install postgresql pgbouncer haproxy). As root, PostgreSQL
# and PgBouncer run as the postgres account, which they require.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$(realpath -m "${CLUSTER_DIR:-$root/.cluster}")"
primary_port="${BASE_PORT:-5434}"
replica_port=$((primary_port + 1))
pooler_port="${POOLER_PORT:-6433}"
http_port="${HTTP_PORT:-8000}"
ports=($((http_port + 1)) $((http_port + 2)))

bindir() {
    local found
    found="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
    [[ -n "$found" ]] || { echo "PostgreSQL's programs are missing: apt-get install postgresql" >&2; exit 1; }
    echo "$found"
}
as_postgres() {
    if [[ "$(id -u)" -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}
owned() {
    if [[ "$(id -u)" -eq 0 ]]; then chown -R postgres:postgres "$@"; fi
}
pg() { # pg DATA PORT start|stop
    as_postgres "$(bindir)/pg_ctl" -D "$1" -l "$1/server.log" -w \
        -o "-p $2 -k $dir -c listen_addresses=127.0.0.1" "$3" >/dev/null
}
wait_http() {
    for _ in $(seq 1 100); do
        if curl -fsS "http://127.0.0.1:$1/readyz" >/dev/null 2>&1; then return 0; fi
        sleep 0.2
    done
    echo "nothing answers on :$1; see $dir/instance-$1.log" >&2
    return 1
}

start() {
    local binary="${1:-$root/target/release/growth-diary}"
    [[ -x "$binary" ]] || { echo "no server binary at $binary (cargo build --release)" >&2; exit 1; }
    command -v pgbouncer >/dev/null || { echo "apt-get install pgbouncer" >&2; exit 1; }
    command -v haproxy >/dev/null || { echo "apt-get install haproxy" >&2; exit 1; }
    mkdir -p "$dir"
    owned "$dir"
    local bin
    bin="$(bindir)"

    # 1. Primary. initdb --auth=trust also allows replication from 127.0.0.1.
    if [[ ! -f "$dir/primary/PG_VERSION" ]]; then
        as_postgres "$bin/initdb" -D "$dir/primary" --auth=trust -U postgres >/dev/null
    fi
    pg "$dir/primary" "$primary_port" start
    as_postgres "$bin/psql" -h 127.0.0.1 -p "$primary_port" -U postgres -qtc \
        "SELECT 1 FROM pg_database WHERE datname = 'growth_diary'" | grep -q 1 ||
        as_postgres "$bin/createdb" -h 127.0.0.1 -p "$primary_port" -U postgres growth_diary

    # 2. Replica: a base backup that streams from the primary (-R writes
    #    primary_conninfo and standby.signal).
    if [[ ! -f "$dir/replica/PG_VERSION" ]]; then
        as_postgres "$bin/pg_basebackup" -h 127.0.0.1 -p "$primary_port" -U postgres \
            -D "$dir/replica" -R -X stream --checkpoint=fast
    fi
    pg "$dir/replica" "$replica_port" start

    # 3. PgBouncer in transaction mode in front of the primary.
    cat >"$dir/pgbouncer.ini" <<INI
[databases]
* = host=127.0.0.1 port=$primary_port

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $pooler_port
unix_socket_dir =
auth_type = trust
auth_file = $dir/pgbouncer-users.txt
pool_mode = transaction
default_pool_size = 20
max_client_conn = 1000
ignore_startup_parameters = extra_float_digits
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
INI
    echo '"postgres" ""' >"$dir/pgbouncer-users.txt"
    owned "$dir/pgbouncer.ini" "$dir/pgbouncer-users.txt"
    if ! [[ -f "$dir/pgbouncer.pid" ]] || ! kill -0 "$(cat "$dir/pgbouncer.pid")" 2>/dev/null; then
        as_postgres pgbouncer -d "$dir/pgbouncer.ini"
    fi

    # 4. Two instances: writes through PgBouncer, sessions (LISTEN, migrations)
    #    on the primary, reads on the replica.
    for port in "${ports[@]}"; do
        if [[ -f "$dir/instance-$port.pid" ]] && kill -0 "$(cat "$dir/instance-$port.pid")" 2>/dev/null; then
            continue
        fi
        DATABASE_URL="postgres://postgres@127.0.0.1:$pooler_port/growth_diary?sslmode=disable" \
        DATABASE_POOLER=transaction \
        DATABASE_DIRECT_URL="postgres://postgres@127.0.0.1:$primary_port/growth_diary?sslmode=disable" \
        DATABASE_REPLICA_URLS="postgres://postgres@127.0.0.1:$replica_port/growth_diary?sslmode=disable" \
        LISTEN_ADDR="127.0.0.1:$port" \
        PUBLIC_URL="http://127.0.0.1:$http_port" \
        TRUST_PROXY="${TRUST_PROXY:-true}" \
            nohup "$binary" serve >"$dir/instance-$port.log" 2>&1 &
        echo $! >"$dir/instance-$port.pid"
    done
    for port in "${ports[@]}"; do wait_http "$port"; done

    # 5. HAProxy: round robin over the instances that answer /readyz.
    cat >"$dir/haproxy.cfg" <<CFG
global
    pidfile $dir/haproxy.pid
defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout tunnel 1h
    option forwardfor
frontend http
    bind 127.0.0.1:$http_port
    default_backend growth_diary
backend growth_diary
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    server a 127.0.0.1:${ports[0]} check inter 1s fall 2 rise 2
    server b 127.0.0.1:${ports[1]} check inter 1s fall 2 rise 2
CFG
    if ! [[ -f "$dir/haproxy.pid" ]] || ! kill -0 "$(cat "$dir/haproxy.pid")" 2>/dev/null; then
        haproxy -D -f "$dir/haproxy.cfg"
    fi
    wait_http "$http_port"
    echo "cluster up: http://127.0.0.1:$http_port/graphql (data in $dir)"
}

stop() {
    [[ -f "$dir/haproxy.pid" ]] && kill "$(cat "$dir/haproxy.pid")" 2>/dev/null || true
    for port in "${ports[@]}"; do
        [[ -f "$dir/instance-$port.pid" ]] && kill "$(cat "$dir/instance-$port.pid")" 2>/dev/null || true
    done
    [[ -f "$dir/pgbouncer.pid" ]] && kill "$(cat "$dir/pgbouncer.pid")" 2>/dev/null || true
    for data in replica primary; do
        if [[ -f "$dir/$data/postmaster.pid" ]]; then
            as_postgres "$(bindir)/pg_ctl" -D "$dir/$data" -m fast -w stop >/dev/null || true
        fi
    done
    rm -f "$dir"/*.pid
    echo "cluster stopped (data in $dir)"
}

status() {
    for port in "${ports[@]}" "$http_port"; do
        if curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then echo ":$port ready"; else echo ":$port down"; fi
    done
    as_postgres "$(bindir)/psql" -h 127.0.0.1 -p "$primary_port" -U postgres -Atc \
        "SELECT 'replica ' || application_name || ' ' || state || ', replay lag ' || coalesce(replay_lag::text, '0') FROM pg_stat_replication" ||
        echo "primary down"
}

case "${1:-}" in
start) start "${2:-}" ;;
stop) stop ;;
status) status ;;
destroy) stop; rm -rf "$dir"; echo "deleted $dir" ;;
*) echo "usage: deploy/local-cluster.sh start [BINARY] | stop | status | destroy" >&2; exit 2 ;;
esac
