#!/usr/bin/env bash
# The year data set: a new gateway folder DIR with 300 organisations, 10,000 people, 30,000
# devices and 15 million audit events over 365 days, hash-chained with a signed checkpoint
# a day, then `audit verify` on it.
#
#   bash bench/year.sh DIR                                  # SQLite (DIR/mfa-gateway.db)
#   bash bench/year.sh DIR postgres://USER@HOST:PORT/DB     # PostgreSQL (an empty database)
#
# Knobs (environment): BENCH_EVENTS (15000000), BENCH_PEOPLE (10000), BENCH_ORGS (300),
# BENCH_DEVICES (30000), BENCH_DAYS (365), BENCH_NO_BUILD=1, BENCH_PROFILE (release).
# DIR/users.txt gets `username password base32-seed` for every person (radius-load --users);
# the first, y00000, is an auditor and operator (bench/audit-pages signs in with it).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

DIR=${1:-}
URL=${2:-}
[ -n "$DIR" ] || die "usage: bench/year.sh DIR [postgres://USER@HOST:PORT/DB]"
[ -e "$DIR/gateway.toml" ] && die "$DIR/gateway.toml exists: give a new folder"
PROFILE=${BENCH_PROFILE:-release}
if [ -z "${BENCH_NO_BUILD:-}" ]; then
    if [ "$PROFILE" = release ]; then
        cargo build --release -q -p mfa-gateway -p mfa-bench --bin year
    else
        cargo build -q -p mfa-gateway -p mfa-bench --bin year
    fi
fi
GW=$ROOT/target/$PROFILE/mfa-gateway
YEAR=$ROOT/target/$PROFILE/year

mkdir -p "$DIR"
"$GW" --config "$DIR/gateway.toml" init > /dev/null
if [ -n "$URL" ]; then
    rm -f "$DIR/mfa-gateway.db"
    awk -v url="$URL" '/^\[/ { s = $0 } s == "[store]" && /^url = / { print "url = \"" url "\""; next } { print }' \
        "$DIR/gateway.toml" > "$DIR/gateway.new" && mv "$DIR/gateway.new" "$DIR/gateway.toml"
fi
time "$YEAR" --config "$DIR/gateway.toml" \
    --events "${BENCH_EVENTS:-15000000}" --people "${BENCH_PEOPLE:-10000}" \
    --orgs "${BENCH_ORGS:-300}" --devices "${BENCH_DEVICES:-30000}" --days "${BENCH_DAYS:-365}" \
    --users-file "$DIR/users.txt"
time "$GW" --config "$DIR/gateway.toml" audit verify
