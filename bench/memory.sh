#!/usr/bin/env bash
# The server's memory under a long login load, as a curve (issue 17): RSS (and its anonymous
# and file-backed parts) idle, after a SIEM catch-up, after every round of logins, and 15 s
# and 60 s after the load, on SQLite.
#
#   bash bench/memory.sh                      # 10 rounds of 10,000 logins on a year
#   BENCH_EVENTS=0 bash bench/memory.sh       # the same on an empty gateway (people only)
#
# Builds the release binaries, makes a gateway of 10,000 people (bench/year.sh's data set,
# BENCH_EVENTS audit events, 15 million by default: some 7 minutes and 4.3 GB), restarts it
# with the SIEM stream 1 million events behind (BENCH_SIEM_EVENTS, 0 = off), then runs
# BENCH_ROUNDS rounds of BENCH_PER_ROUND password+TOTP logins over RADIUS on loopback
# (concurrency: twice the cores; each round starts on a fresh TOTP step). The goal: <= 120 MiB
# under load and flat from round to round, back near idle after.
# Knobs: BENCH_EVENTS (15000000), BENCH_ROUNDS (10), BENCH_PER_ROUND (10000), BENCH_SIEM_EVENTS
# (1000000), BENCH_SERVER_ENV (e.g. "MALLOC_CONF=dirty_decay_ms:1000"), BENCH_NO_BUILD=1,
# BENCH_KEEP=1, BENCH_PORT (18700: RADIUS; +1 HTTP).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

EVENTS=${BENCH_EVENTS:-15000000}
ROUNDS=${BENCH_ROUNDS:-10}
PER=${BENCH_PER_ROUND:-10000}
SIEM=${BENCH_SIEM_EVENTS:-1000000}
PORT=${BENCH_PORT:-18700}
HTTP_PORT=$((PORT + 1))
CONCURRENCY=$(($(nproc) * 2))
SECRET=bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
release_binaries
command -v sqlite3 > /dev/null || die "sqlite3 missing: apt-get install sqlite3"

D=$(mktemp -d "${TMPDIR:-/tmp}/mfa-memory.XXXXXX")
PID=
cleanup() {
    [ -n "$PID" ] && { kill -TERM "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; }
    if [ -n "${BENCH_KEEP:-}" ]; then say "kept $D"; else rm -rf "$D"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "a gateway of 10,000 people and $EVENTS audit events in $D"
year_gateway "$D" "$PORT" "$HTTP_PORT" "$SECRET" "$EVENTS"

if [ "$SIEM" -gt 0 ]; then
    sed -i 's/^sink = "off"/sink = "file"/' "$D/gateway.toml"
    HEAD=$(sqlite3 "$D/mfa-gateway.db" 'SELECT coalesce(max(id), 0) FROM audit_events')
    FROM=$((HEAD - SIEM)); [ "$FROM" -lt 0 ] && FROM=0
    printf '%s' "$FROM" > "$D/siem.position"
fi

serve "$D" "$GW"
sleep 1

mib() { awk -v k="$1:" '$1 == k { printf "%.1f", $2 / 1024 }' "/proc/$PID/status"; }
report() {
    printf '%-22s RSS %6s MiB   anonymous %6s   file %6s   threads %s\n' "$1" \
        "$(mib VmRSS)" "$(mib RssAnon)" "$(mib RssFile)" "$(awk '$1 == "Threads:" { print $2 }' "/proc/$PID/status")"
}
report "idle"
if [ "$SIEM" -gt 0 ]; then
    while [ "$(cat "$D/siem.position" 2>/dev/null || echo 0)" -lt "$HEAD" ]; do
        kill -0 "$PID" 2>/dev/null || die "the gateway stopped during the SIEM catch-up"
        sleep 0.2
    done
    report "SIEM caught up ($SIEM)"
fi
for r in $(seq 1 "$ROUNDS"); do
    sleep $((31 - $(date +%s) % 30))
    "$LOAD" --target "127.0.0.1:$PORT" --secret "$SECRET" --users "$D/users-many.txt" \
        --mode pap-totp --concurrency "$CONCURRENCY" --requests "$PER" --duration 86400 \
        --summary "$D/round.sum" > "$D/round.txt" 2>&1 || { cat "$D/round.txt" >&2; die "radius-load failed"; }
    report "after $((r * PER)) logins"
    [ "$(get "$D/round.sum" accepts)" = "$PER" ] || say "round $r: $(get "$D/round.sum" accepts) of $PER accepted"
done
sleep 15
report "15 s after the load"
# SQLite: the connections the burst opened are closed at 30 s of age, what they held given
# back some 10 s later (jemalloc's decay).
sleep 45
report "60 s after the load"
