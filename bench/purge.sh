#!/usr/bin/env bash
# The purge's own pace (issue 17): `audit purge` of about BENCH_PURGE_EVENTS expired login
# attempts on a year of BENCH_EVENTS events (bench/year.sh's data set), with nothing beside
# it, in rows/s. Its bounded batches each pause three times what they took, so the rate
# follows what a batch costs the database. With BENCH_OTHER, the same purge by another
# build on the same data, taking turns (an A/B in one go): on SQLite each run gets a copy of
# one database, on PostgreSQL each run writes the year again into the schema mfa_purge
# (dropped after).
#
#   bash bench/purge.sh
#   bash bench/purge.sh postgres [postgres://postgres@127.0.0.1:5432/test]
#   BENCH_OTHER=/path/to/old/mfa-gateway bash bench/purge.sh [postgres]
#
# Knobs: BENCH_EVENTS (3000000), BENCH_PURGE_EVENTS (200000), BENCH_RUNS (2),
# BENCH_OTHER (a second gateway binary), BENCH_NO_BUILD=1.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

db_choice purge.sh "$@"
EVENTS=${BENCH_EVENTS:-3000000}
PURGE_EVENTS=${BENCH_PURGE_EVENTS:-200000}
RUNS=${BENCH_RUNS:-2}
release_binaries ${BENCH_OTHER:+"$BENCH_OTHER"}

D=$(mktemp -d "${TMPDIR:-/tmp}/mfa-purge.XXXXXX")
cleanup() {
    [ "$DB" = postgres ] && { psql "$PG_URL" -qc "DROP SCHEMA IF EXISTS mfa_purge CASCADE" >/dev/null 2>&1 || true; }
    rm -rf "$D"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A year in DIR (SQLite: a file there; PostgreSQL: the schema mfa_purge, written again).
year_in() {
    local url=sqlite://mfa-gateway.db
    mkdir -p "$1"
    [ "$DB" = postgres ] && url=$(pg_schema_url "$PG_URL" mfa_purge)
    year_gateway "$1" 18900 18901 "bench-purge-$(date +%s)" "$EVENTS" "$url"
}
if [ "$DB" = sqlite ]; then
    say "a SQLite gateway of 10,000 people with $EVENTS audit events in $D/year"
    year_in "$D/year"
    sed 's/^/    /' "$D/year/year.txt"
fi
# Expire about PURGE_EVENTS login attempts: purge as of that many days' worth after the end.
AT=$(($(date +%s) + $(calc "int($PURGE_EVENTS * 365 / ($EVENTS * 0.95 + 1)) + 1" 0) * 86400))

one_run() { # LABEL BINARY
    local label=$1 bin=$2 t0 t1 n
    rm -rf "$D/run"
    if [ "$DB" = sqlite ]; then
        cp -r "$D/year" "$D/run"
    else
        say "$label: a year of $EVENTS audit events in PostgreSQL (schema mfa_purge)"
        year_in "$D/run"
    fi
    t0=$(date +%s.%N)
    "$bin" --config "$D/run/gateway.toml" audit purge --at "$AT" > "$D/run/purge.txt" 2> "$D/run/purge.err" \
        || { cat "$D/run/purge.err" >&2; die "audit purge failed ($label)"; }
    t1=$(date +%s.%N)
    n=$(sed -n 's/^purge done: \([0-9]*\) events redacted.*/\1/p' "$D/run/purge.txt")
    printf '%-6s %8s rows in %6.1f s: %6.0f rows/s\n' "$label" "$n" "$(calc "$t1 - $t0" 1)" \
        "$(calc "${n:-0} / ($t1 - $t0)" 0)"
    "$bin" --config "$D/run/gateway.toml" audit verify > "$D/run/verify.txt" \
        || { cat "$D/run/verify.txt" >&2; die "audit verify failed after the purge ($label)"; }
}

for _ in $(seq 1 "$RUNS"); do
    one_run this "$GW"
    if [ -n "${BENCH_OTHER:-}" ]; then one_run other "$BENCH_OTHER"; fi
done
