#!/usr/bin/env bash
# The server's RSS over its first BENCH_SECONDS with nothing to do but its own jobs (issue
# 17: idle <= 30 MiB), on bench/year.sh's platform of 10,000 people with BENCH_EVENTS audit
# events, the SIEM follower on (as figures.sh runs it). The daily retention job runs 20 s
# after start: what it leaves behind shows here, and whether freed memory goes back while
# the server idles. Prints RSS every 5 s, its peak, its last value (with the anonymous part:
# the heap and stacks; the rest is mostly the executable's own pages, file-backed and
# shared) and the thread count.
# With BENCH_OTHER, the same for another build after, on the same data.
#
#   bash bench/idle-rss.sh
#   bash bench/idle-rss.sh postgres [postgres://postgres@127.0.0.1:5432/test]
#   BENCH_OTHER=/path/to/old/mfa-gateway bash bench/idle-rss.sh
#
# Knobs: BENCH_EVENTS (20000), BENCH_SECONDS (60), BENCH_OTHER, BENCH_NO_BUILD=1.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

db_choice idle-rss.sh "$@"
EVENTS=${BENCH_EVENTS:-20000}
SECONDS_IDLE=${BENCH_SECONDS:-60}
PORT=18950 HTTP_PORT=18951 SECRET="bench-idle-rss-$(date +%s)" PID=
release_binaries ${BENCH_OTHER:+"$BENCH_OTHER"}

D=$(mktemp -d "${TMPDIR:-/tmp}/mfa-idle-rss.XXXXXX")
cleanup() {
    [ -n "$PID" ] && { kill -TERM "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; }
    [ "$DB" = postgres ] && { psql "$PG_URL" -qc "DROP SCHEMA IF EXISTS mfa_idle_rss CASCADE" >/dev/null 2>&1 || true; }
    rm -rf "$D"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

url=sqlite://mfa-gateway.db
[ "$DB" = postgres ] && url=$(pg_schema_url "$PG_URL" mfa_idle_rss)
say "a platform of 10,000 people with $EVENTS audit events ($DB)"
year_gateway "$D" "$PORT" "$HTTP_PORT" "$SECRET" "$EVENTS" "$url"
sed -i 's/^sink = "off"/sink = "file"/' "$D/gateway.toml"

rss_kib() { awk -v k="${2:-VmRSS}:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }

idle() { # NAME BINARY
    local name=$1 bin=$2 t=0 kib peak=0 line=""
    serve "$D" "$bin"
    while [ "$t" -lt "$SECONDS_IDLE" ]; do
        sleep 5
        t=$((t + 5))
        kib=$(rss_kib "$PID")
        [ "$kib" -gt "$peak" ] && peak=$kib
        line+=" ${t}s:$(calc "$kib / 1024")"
    done
    printf '%-6s RSS MiB%s\n' "$name" "$line"
    printf '%-6s peak %s MiB, at %d s %s MiB (anonymous %s), %d threads\n' "$name" \
        "$(calc "$peak / 1024")" "$SECONDS_IDLE" "$(calc "$kib / 1024")" \
        "$(calc "$(rss_kib "$PID" RssAnon) / 1024")" "$(ls "/proc/$PID/task" | wc -l)"
    kill -TERM "$PID"
    wait "$PID" 2>/dev/null || true
    PID=
}

idle this "$GW"
[ -n "${BENCH_OTHER:-}" ] && idle other "$BENCH_OTHER"
exit 0
