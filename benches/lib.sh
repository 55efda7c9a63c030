# benches/lib.sh: helpers shared by the benchmark scripts (sourced; not run on its own).
# The caller sets BENCH_NAME (log prefix), BENCH_DB, BASE_PORT and, for graphql(), GRAPHQL_URL.

log() { printf '[%s %s] %s\n' "${BENCH_NAME:-bench}" "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# psql on the bench database: unaligned, tuples only, stop at the first error.
psql_bench() { psql -X -q -v ON_ERROR_STOP=1 -At -d "$BENCH_DB" "$@"; }
psql_admin() { psql -X -q -v ON_ERROR_STOP=1 -At -d postgres "$@"; }

is_uint() { [[ "$1" =~ ^[0-9]+$ ]]; }

# A wrk latency such as 812.33us, 12.05ms, 1.20s or 1.00m, in milliseconds.
to_ms() {
    awk -v v="$1" 'BEGIN {
        if (v ~ /us$/)      { sub(/us$/, "", v); printf "%.3f", v / 1000 }
        else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
        else if (v ~ /s$/)  { sub(/s$/, "", v);  printf "%.3f", v * 1000 }
        else if (v ~ /m$/)  { sub(/m$/, "", v);  printf "%.3f", v * 60000 }
        else                { printf "n/a" } }'
}

port_in_use() {
    if command -v ss >/dev/null 2>&1; then
        [[ -n "$(ss -Htln "sport = :$1" 2>/dev/null)" ]]
    else
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
    fi
}

free_port() {
    local port
    for ((port = BASE_PORT; port < BASE_PORT + 200; port++)); do
        if ! port_in_use "$port"; then echo "$port"; return 0; fi
    done
    die "no free port in $BASE_PORT..$((BASE_PORT + 199)); set BASE_PORT"
}

# POSTs a GraphQL request; $1 query, $2 variables (JSON), $3 bearer token (may be empty).
graphql() {
    local body auth=()
    body="$(jq -nc --arg q "$1" --argjson v "$2" '{query: $q, variables: $v}')"
    [[ -n "${3:-}" ]] && auth=(-H "Authorization: Bearer $3")
    curl -sS -m 60 -H 'Content-Type: application/json' "${auth[@]}" --data-binary "$body" "$GRAPHQL_URL"
}

# Fails with the response when a GraphQL answer carries errors or no data; $1 names the request.
check_graphql() {
    local what="$1" response="$2"
    if ! jq -e '(.errors | not) and (.data != null)' >/dev/null 2>&1 <<<"$response"; then
        die "$what failed: $(head -c 600 <<<"$response")"
    fi
}

# The pinned wrk: Debian's package (bookworm), installed with apt-get when missing.
WRK_DEB_VERSION="4.1.0-3+b2"
ensure_wrk() {
    command -v wrk >/dev/null 2>&1 && return 0
    ((EUID == 0)) || die "wrk is missing: apt-get install wrk=$WRK_DEB_VERSION"
    log "installing wrk=$WRK_DEB_VERSION (Debian)"
    apt-get install -y -qq "wrk=$WRK_DEB_VERSION" >/dev/null 2>&1 \
        || { apt-get update -qq >/dev/null && apt-get install -y -qq "wrk=$WRK_DEB_VERSION" >/dev/null; } \
        || die "cannot install wrk=$WRK_DEB_VERSION"
}

# Prints the server binary a run uses: BENCH_BIN, or the release build of this tree (built first,
# at a lower priority than the run's own processes, unless SKIP_BUILD=1; the log goes to
# RESULTS_DIR/build.log). Call it as SOURCE_BIN="$(bench_binary)": a failure stops the caller.
bench_binary() {
    if [[ -n "${BENCH_BIN:-}" ]]; then
        [[ -x "$BENCH_BIN" ]] || die "BENCH_BIN=$BENCH_BIN is not an executable"
        echo "$BENCH_BIN"
        return
    fi
    if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
        log "cargo build --release"
        (cd "$REPO_DIR" && nice -n 10 cargo build --release) >"$RESULTS_DIR/build.log" 2>&1 \
            || { tail -n 30 "$RESULTS_DIR/build.log" >&2; die "cargo build --release failed"; }
    fi
    local built="${CARGO_TARGET_DIR:-$REPO_DIR/target}/release/growth-diary"
    [[ -x "$built" ]] || die "$built not found (build it, or set BENCH_BIN)"
    echo "$built"
}
