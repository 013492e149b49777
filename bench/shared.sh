#!/usr/bin/env bash
# Issue 14's figures: what the shared state in Redis costs a RADIUS login.
#
#   bash bench/shared.sh [redis://127.0.0.1:6379]
#
# One gateway folder (SQLite, people and TOTP phones from the year generator, no audit
# history), served twice with the same release binary: first with everything in process,
# then with `[shared] url` (a key prefix of its own). Rate limits are on (every login is
# checked against them, as in production) but set far above the load. Each run logs in its own slice of the
# users with radius-load (password + TOTP, append mode) and prints:
#   - accepted logins/s and the server's CPU per accepted login (utime + stime);
#   - with Redis: the commands Redis processed per login (`INFO stats`
#     total_commands_processed, less the idle background pings), i.e. round trips.
# Then the OIDC token endpoint (bench oidc-token, in process: codes and refresh tokens in
# memory, then in Redis): requests/s and this process's CPU per token request.
# Then the ratios (goal: Redis <= 1.10x the CPU of in process; <= 3 round trips per login).
# Knobs: BENCH_SECONDS (15), BENCH_PEOPLE (4000), BENCH_THREADS (0 = all cores),
# BENCH_PROFILE (release), BENCH_NO_BUILD=1, BENCH_PORT (18700), BENCH_KEEP=1.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
. bench/lib.sh

REDIS=${1:-redis://127.0.0.1:6379}
SECONDS_RUN=${BENCH_SECONDS:-15}
PEOPLE=${BENCH_PEOPLE:-4000}
THREADS=${BENCH_THREADS:-0}
PORT=${BENCH_PORT:-18700}
PROFILE=${BENCH_PROFILE:-release}
CORES=$(nproc)
[ "$THREADS" = 0 ] && HASH_THREADS=$CORES || HASH_THREADS=$THREADS
CONCURRENCY=$((HASH_THREADS * 2))
GW=$ROOT/target/$PROFILE/mfa-gateway
LOAD=$ROOT/target/$PROFILE/radius-load
YEAR=$ROOT/target/$PROFILE/year
OIDC=$ROOT/target/$PROFILE/oidc-token

if [ -z "${BENCH_NO_BUILD:-}" ]; then
    say "building ($PROFILE): mfa-gateway, mfa-bench"
    if [ "$PROFILE" = release ]; then
        cargo build --release -q -p mfa-gateway -p mfa-bench
    else
        cargo build -q -p mfa-gateway -p mfa-bench
    fi
fi
for b in "$GW" "$LOAD" "$YEAR" "$OIDC"; do
    [ -x "$b" ] || die "$b missing: cargo build --release -p mfa-gateway -p mfa-bench"
done
command -v redis-cli >/dev/null 2>&1 || die "redis-cli not found: apt-get install redis-tools"
[ "$(redis-cli -u "$REDIS" ping 2>/dev/null)" = PONG ] || die "Redis not reachable at $REDIS (apt-get install redis-server)"

DIR=$(mktemp -d "${TMPDIR:-/tmp}/mfa-shared.XXXXXX")
GW_PID=
PREFIX="mfa-bench-$$:"
cleanup() {
    [ -n "$GW_PID" ] && { kill -TERM "$GW_PID" 2>/dev/null || true; wait "$GW_PID" 2>/dev/null || true; }
    redis-cli -u "$REDIS" --scan --pattern "${PREFIX}*" 2>/dev/null | xargs -r redis-cli -u "$REDIS" del >/dev/null 2>&1 || true
    if [ -n "${BENCH_KEEP:-}" ]; then say "kept $DIR"; else rm -rf "$DIR"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
SECRET=bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
commands() { redis-cli -u "$REDIS" info stats | sed -n 's/^total_commands_processed:\([0-9]*\).*/\1/p'; }
# Commands sent to Redis so far, as MONITOR printed them (not those scripts ran, not INFO).
sent() { local n; n=$(grep -v -c -e ' lua\]' -e '"info"' -e '"monitor"' "$DIR/monitor.txt" 2>/dev/null); echo "${n:-0}"; }

"$GW" --config "$DIR/gateway.toml" init > "$DIR/init.txt"
toml_set "$DIR/gateway.toml" \
    radius listen "[\"127.0.0.1:$PORT\"]" \
    http listen '[]' \
    log level '"warn"' \
    password hashing_threads "$THREADS" \
    rate_limit 'per_*' 1000000 || die "editing gateway.toml failed"
cat >> "$DIR/gateway.toml" <<EOF

[[radius.clients]]
name = "bench"
address = "127.0.0.1/32"
secret = "$SECRET"
mode = "append"
EOF
rm -f "$DIR/mfa-gateway.db"
say "people and phones: $PEOPLE (year generator, 1,000 events)"
"$YEAR" --config "$DIR/gateway.toml" --orgs 10 --people "$PEOPLE" --devices "$PEOPLE" \
    --events 1000 --users-file "$DIR/users.txt" > "$DIR/year.txt" 2> "$DIR/year.err" \
    || { cat "$DIR/year.err" >&2; die "year failed"; }
n=$(($(wc -l < "$DIR/users.txt") - 1))
tail -n +2 "$DIR/users.txt" | sed -n "1,$((n / 2))p" > "$DIR/users-local.txt"
tail -n +2 "$DIR/users.txt" | sed -n "$((n / 2 + 1)),${n}p" > "$DIR/users-redis.txt"

shared() { # URL ("" = in process)
    toml_set "$DIR/gateway.toml" shared url "\"$1\"" shared key_prefix "\"$PREFIX\"" \
        || die "editing gateway.toml failed"
}

run() { # NAME
    local name=$1
    "$GW" --config "$DIR/gateway.toml" serve > "$DIR/$name.out" 2> "$DIR/$name.serve.err" &
    GW_PID=$!
    for _ in $(seq 1 300); do
        grep -q "mfa-gateway ready" "$DIR/$name.out" 2>/dev/null && break
        kill -0 "$GW_PID" 2>/dev/null || { cat "$DIR/$name.serve.err" >&2; die "the gateway did not start"; }
        sleep 0.1
    done
    sleep 1
    # Round trips: the commands the gateway sent, as MONITOR shows them (those a script runs
    # inside Redis are marked "lua" and are not round trips). Idle traffic (the connection
    # manager's and the approvals' background calls) over the same time is subtracted.
    local mon=
    if [ "$name" = redis ]; then
        redis-cli -u "$REDIS" monitor > "$DIR/monitor.txt" 2>/dev/null &
        mon=$!
        sleep 0.5
    fi
    local c0 c1 c2 m0 m1 m2
    c0=$(commands); m0=$(sent); sleep 3; c1=$(commands); m1=$(sent)
    "$LOAD" --target "127.0.0.1:$PORT" --secret "$SECRET" --users "$DIR/users-$name.txt" \
        --mode pap-totp --concurrency "$CONCURRENCY" --duration "$SECONDS_RUN" \
        --server-pid "$GW_PID" --summary "$DIR/$name.sum" --label "$name" \
        > "$DIR/$name.txt" 2> "$DIR/$name.err" || { cat "$DIR/$name.err" >&2; die "radius-load failed"; }
    c2=$(commands); m2=$(sent)
    [ -n "$mon" ] && { kill "$mon" 2>/dev/null || true; wait "$mon" 2>/dev/null || true; }
    sed 's/^/    /' "$DIR/$name.txt"
    kill -TERM "$GW_PID"; wait "$GW_PID" 2>/dev/null || true; GW_PID=
    local accepts cpu
    accepts=$(get "$DIR/$name.sum" accepts); cpu=$(get "$DIR/$name.sum" server_cpu_s)
    CPU[$name]=$(calc "1000 * $cpu / $accepts" 2)
    RATE[$name]=$(get "$DIR/$name.sum" accepts_per_s)
    local idle; idle=$(calc "($c1 - $c0) / 3 * $SECONDS_RUN" 0)
    CMDS[$name]=$(calc "(($c2 - $c1) - 1 - $idle) / $accepts" 2)
    idle=$(calc "($m1 - $m0) / 3 * $SECONDS_RUN" 0)
    TRIPS[$name]=$(calc "(($m2 - $m1) - $idle) / $accepts" 2)
    say "[$name] $accepts accepted, ${RATE[$name]}/s, server CPU ${CPU[$name]} ms per login, Redis round trips per login ${TRIPS[$name]} (commands executed, inside scripts too: ${CMDS[$name]})"
}

declare -A CPU RATE TRIPS CMDS
say "in process (no [shared] url), $SECONDS_RUN s, concurrency $CONCURRENCY, $HASH_THREADS hashing threads"
shared ""
run local
say "Redis ($REDIS), the same"
shared "$REDIS"
run redis
say "OIDC token requests (oidc-token --requests 3000 --concurrency $HASH_THREADS)"
"$OIDC" --requests 3000 --concurrency "$HASH_THREADS" > "$DIR/oidc-local.txt"
"$OIDC" --requests 3000 --concurrency "$HASH_THREADS" --redis "$REDIS" > "$DIR/oidc-redis.txt"
sed 's/^/    /' "$DIR/oidc-local.txt" "$DIR/oidc-redis.txt"
oidc_cpu() { sed -n 's/.*, \([0-9.]*\) ms CPU each.*/\1/p' "$1"; }
oidc_rate() { sed -n 's/^token endpoint: \([0-9]*\) requests.*/\1/p' "$1"; }
echo
echo "figure                               in process    Redis"
printf '%-36s %-13s %s\n' "accepted logins/s" "${RATE[local]}" "${RATE[redis]}"
printf '%-36s %-13s %s\n' "server CPU per login (ms)" "${CPU[local]}" "${CPU[redis]}"
printf '%-36s %-13s %s\n' "Redis round trips per login" "0" "${TRIPS[redis]}"
printf '%-36s %-13s %s\n' "  commands run, inside scripts too" "0" "${CMDS[redis]}"
printf '%-36s %-13s %s\n' "OIDC token requests/s" "$(oidc_rate "$DIR/oidc-local.txt")" "$(oidc_rate "$DIR/oidc-redis.txt")"
printf '%-36s %-13s %s\n' "CPU per token request (ms)" "$(oidc_cpu "$DIR/oidc-local.txt")" "$(oidc_cpu "$DIR/oidc-redis.txt")"
echo "RADIUS: CPU ratio Redis / in process $(calc "${CPU[redis]} / ${CPU[local]}" 3) (goal <= 1.10); round trips ${TRIPS[redis]} (goal <= 3)"
echo "OIDC token: CPU ratio Redis / in process $(calc "$(oidc_cpu "$DIR/oidc-redis.txt") / $(oidc_cpu "$DIR/oidc-local.txt")" 3) (this process only; Redis's own CPU is not in it)"
