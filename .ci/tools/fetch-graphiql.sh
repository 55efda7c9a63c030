#!/usr/bin/env bash
# Fetches the GraphiQL build that the server embeds (src/http/graphiql/assets/):
# the UMD builds of GraphiQL, React and ReactDOM with their licences, from the
# npm registry by exact version. Each tarball must match the integrity pinned
# below (the registry's `dist.integrity`), and the kept files are listed with
# their SHA-256 in assets/SHA256SUMS (a unit test checks the embedded bytes).
#
# To update: change a version, put the new `npm view <pkg>@<version> dist.integrity`
# next to it, run this script, then change the paths in src/http/graphiql/mod.rs.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
assets="$root/src/http/graphiql/assets"

GRAPHIQL_VERSION=4.1.2
REACT_VERSION=18.3.1
declare -A INTEGRITY=(
    ["graphiql@$GRAPHIQL_VERSION"]="sha512-rNlzQIAzm6i2KBXmVQWBgLvt0TloxFVB2d18bukvdsvjEuFDHsKx5IVOomL1W1o5WW+tE54+ioHb2AEKzO2cUg=="
    ["react@$REACT_VERSION"]="sha512-wS+hAgJShR0KhEvPJArfuPVN1+Hz1t0Y6n5jLrGQbkb4urgPE/0Rve+1kMB1v/oWgHgm4WIcV+i7F2pTVj+2iQ=="
    ["react-dom@$REACT_VERSION"]="sha512-5m4nQKp+rZRb09LNH59GM4BxTh9251/ylbKIbpe7TpGxfJ+9kv6BLkLBXIjjspbgbnIBNqlI23tRnTWT0snUIw=="
)

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# fetch NAME VERSION: downloads and checks the tarball, unpacks it to $work/NAME.
fetch() {
    local spec="$1@$2"
    local tarball
    tarball="$(cd "$work" && npm pack --silent "$spec" 2>/dev/null | tail -n 1)"
    local actual
    actual="sha512-$(openssl dgst -sha512 -binary "$work/$tarball" | base64 -w0)"
    if [[ "$actual" != "${INTEGRITY[$spec]}" ]]; then
        echo "$spec: integrity $actual, expected ${INTEGRITY[$spec]}" >&2
        exit 1
    fi
    mkdir -p "$work/$1"
    tar -xzf "$work/$tarball" -C "$work/$1" --strip-components=1
}

fetch graphiql "$GRAPHIQL_VERSION"
fetch react "$REACT_VERSION"
fetch react-dom "$REACT_VERSION"

rm -rf "$assets"/graphiql-* "$assets"/react-*
g="$assets/graphiql-$GRAPHIQL_VERSION"
r="$assets/react-$REACT_VERSION"
d="$assets/react-dom-$REACT_VERSION"
mkdir -p "$g" "$r" "$d"
cp "$work/graphiql/graphiql.min.js" "$work/graphiql/graphiql.min.css" "$work/graphiql/LICENSE" "$g/"
cp "$work/react/umd/react.production.min.js" "$work/react/LICENSE" "$r/"
cp "$work/react-dom/umd/react-dom.production.min.js" "$work/react-dom/LICENSE" "$d/"

cd "$assets"
find . -type f ! -name SHA256SUMS ! -name README.md | sed 's|^\./||' | LC_ALL=C sort | xargs sha256sum > SHA256SUMS
cat SHA256SUMS
