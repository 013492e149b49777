#!/usr/bin/env bash
# mfa-gateway's RADIUS front against FreeRADIUS 3.2 on this machine, loopback only.
#
#   bash bench/compare.sh
#
# Builds the release binaries, makes a throwaway gateway (temporary folder, N users each with
# a password and a TOTP phone, made with the mfa-gateway CLI), measures it with radius-load,
# then FreeRADIUS with the same users (PAP, password only), and prints a side-by-side table
# and the three goals. Both servers listen on 127.0.0.1 only; every process started here is
# stopped, and the folder removed, at exit. About 5 minutes on 2 cores once built.
#
# Knobs (environment): BENCH_NO_BUILD=1 (use the binaries as they are), BENCH_KEEP=1 (keep
# the temporary folder), BENCH_LOGIN_SECONDS (default 10), BENCH_SECONDS (other runs,
# default 10), BENCH_GW_PORT (18125), BENCH_FR_PORT (18120), BENCH_DROP_RATE (50000),
# BENCH_QUIET_BUDGET (seconds the script may wait in all for other work to stop, 30).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

LOGIN_SECONDS=${BENCH_LOGIN_SECONDS:-10}
SECONDS_PER_RUN=${BENCH_SECONDS:-10}
GW_PORT=${BENCH_GW_PORT:-18125}
FR_PORT=${BENCH_FR_PORT:-18120}
# Requests the servers drop (unknown client, garbage) are sent at this rate, not awaited.
DROP_RATE=${BENCH_DROP_RATE:-50000}
# The legitimate source during a flood: under the shipped per-source limit (120/minute).
LEGIT_RATE=1.5
FLOOD_SECONDS=12
LEGIT_SECONDS=10
# Users per flood run for the legitimate source (LEGIT_RATE x LEGIT_SECONDS, and spare).
LEGIT_USERS=20
FLOOD_RUNS=4

GW=$ROOT/target/release/mfa-gateway
LOAD=$ROOT/target/release/radius-load
ARGON=$ROOT/target/release/argon2-rate

# --- machine --------------------------------------------------------------------------
started_at=$(date +%s)
say "machine: $(nproc) cores; $(uptime | sed 's/^ *//')"
busy_now() { top -bn1 | awk 'NR > 7 && $9 + 0 >= 10 { printf "%s(%s%%) ", $12, $9 }'; }
busy=$(busy_now)
[ -n "$busy" ] && say "processes using CPU now: $busy"

# --- build ----------------------------------------------------------------------------
if [ -z "${BENCH_NO_BUILD:-}" ]; then
    say "building (release): mfa-gateway, mfa-bench"
    cargo build --release -q -p mfa-gateway -p mfa-bench
fi
for b in "$GW" "$LOAD" "$ARGON"; do
    [ -x "$b" ] || die "$b missing: cargo build --release -p mfa-gateway -p mfa-bench"
done

if ! command -v freeradius >/dev/null 2>&1; then
    [ "$(id -u)" = 0 ] || die "FreeRADIUS is not installed: apt-get install freeradius"
    say "installing freeradius"
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq freeradius >&2
fi
FR_VERSION=$(freeradius -v 2>/dev/null | sed -n 's/.*FreeRADIUS Version \([0-9.]*\).*/\1/p' | head -n 1)

# --- temporary folder, clean-up ---------------------------------------------------------
DIR=$(mktemp -d "${TMPDIR:-/tmp}/mfa-bench.XXXXXX")
GW_PID=
FR_PID=
BG_PID=
cleanup() {
    for pid in $BG_PID $GW_PID $FR_PID; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in $BG_PID $GW_PID $FR_PID; do wait "$pid" 2>/dev/null || true; done
    if [ -n "${BENCH_KEEP:-}" ]; then say "kept $DIR"; else rm -rf "$DIR"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
SECRET=bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')

get() { sed -n "s/^$2=//p" "$DIR/$1.sum" 2>/dev/null; }
calc() { awk "BEGIN { v = $1; printf \"%.${2:-1}f\", v }" 2>/dev/null || echo n/a; }
isnum() { [[ "$1" =~ ^[0-9]+(\.[0-9]+)?$ ]]; }

# Waits (at most QUIET_BUDGET seconds over the whole script) until the machine's cores are
# idle, so that other work (a compiler) does not skew the next measurement.
QUIET_BUDGET=${BENCH_QUIET_BUDGET:-30}
quiet_used=0
machine_busy_pct() {
    local a b
    read -r -a a < /proc/stat; sleep 0.5; read -r -a b < /proc/stat
    awk -v u0="${a[1]}" -v n0="${a[2]}" -v s0="${a[3]}" -v i0="${a[4]}" -v w0="${a[5]}" -v q0="${a[6]}" -v f0="${a[7]}" \
        -v u1="${b[1]}" -v n1="${b[2]}" -v s1="${b[3]}" -v i1="${b[4]}" -v w1="${b[5]}" -v q1="${b[6]}" -v f1="${b[7]}" \
        'BEGIN { busy = (u1+n1+s1+q1+f1) - (u0+n0+s0+q0+f0); idle = (i1+w1) - (i0+w0);
                 printf "%d", (busy + idle > 0) ? 100 * busy / (busy + idle) : 0 }'
}
quiet() {
    local pct t0=$SECONDS
    while pct=$(machine_busy_pct); [ "$pct" -gt 15 ] && [ "$quiet_used" -lt "$QUIET_BUDGET" ]; do
        [ "$SECONDS" = "$t0" ] && say "  waiting for the machine to be idle ($pct % busy)"
        sleep 1; quiet_used=$((quiet_used + 2))
    done
    [ "$pct" -gt 15 ] && say "  the machine is $pct % busy with other work: the next figures are low" || true
}

# radius-load with a time guard; its output is shown indented and kept in DIR/NAME.txt.
load() {
    local name=$1; shift
    timeout 120 "$LOAD" --secret "$SECRET" --summary "$DIR/$name.sum" --label "$name" "$@" \
        > "$DIR/$name.txt" 2> "$DIR/$name.err" || { cat "$DIR/$name.err" >&2; die "radius-load $name failed"; }
    sed 's/^/    /' "$DIR/$name.txt"
}

# Waits until the server on PORT answers Status-Server.
wait_ready() {
    local port=$1 pid=$2
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || return 1
        if "$LOAD" --target "127.0.0.1:$port" --secret "$SECRET" --mode status-server \
            --requests 1 --timeout-ms 200 --retries 0 --summary "$DIR/probe.sum" >/dev/null 2>&1 \
            && [ "$(get probe accepts)" = 1 ]; then
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# --- raw argon2id rate ------------------------------------------------------------------
quiet
say "argon2id verify rate (target/release/argon2-rate --seconds 3)"
"$ARGON" --seconds 3 | tee "$DIR/argon2.txt" | sed 's/^/    /'
ARGON_RATE=$(sed -n 's/^threads [0-9]*: \([0-9.]*\) verifies\/s.*/\1/p' "$DIR/argon2.txt" | tail -n 1)
isnum "$ARGON_RATE" || die "cannot read argon2-rate's output"

# --- gateway folder and users -----------------------------------------------------------
# A TOTP code is single use, so each user logs in at most once per 30-second step: enough
# users for the login run at the argon2 rate, plus small sets for the floods' legitimate
# source (one set per flood run, so no code is ever replayed).
LOGIN_USERS=$(calc "int($ARGON_RATE * $LOGIN_SECONDS * 1.1) + 20" 0)
N=$((LOGIN_USERS + FLOOD_RUNS * LEGIT_USERS))
say "setting up a gateway in $DIR with $N users (mfa-gateway init, org add, person add, device add-totp)"
"$GW" --config "$DIR/gateway.toml" init > "$DIR/init.txt"
for key in "argon2_memory_kib = 19456" "argon2_iterations = 2" "argon2_parallelism = 1" "hashing_threads = 0"; do
    grep -q "^$key\$" "$DIR/gateway.toml" || die "gateway.toml: expected the default \`$key\`"
done
cp "$DIR/gateway.toml" "$DIR/gateway.base.toml"

# NAME CLIENT_NET PER_SOURCE_PER_MINUTE PER_USERNAME_PER_MINUTE PER_CLIENT_PER_SECOND
make_config() {
    local out=$DIR/$1.toml
    # Only the keys of these sections: other sections may have keys of the same name.
    awk -v port="$GW_PORT" -v src="$3" -v usr="$4" -v cli="$5" '
        /^\[/ { section = $0 }
        section == "[radius]" && /^listen = / { print "listen = [\"127.0.0.1:" port "\"]"; next }
        section == "[log]" && /^level = / { print "level = \"warn\""; next }
        section == "[rate_limit]" && /^per_source_per_minute = / { print "per_source_per_minute = " src; next }
        section == "[rate_limit]" && /^per_username_per_minute = / { print "per_username_per_minute = " usr; next }
        section == "[rate_limit]" && /^per_client_per_second = / { print "per_client_per_second = " cli; next }
        { print }
    ' "$DIR/gateway.base.toml" > "$out.new"
    cat >> "$out.new" <<EOF

[[radius.clients]]
name = "bench"
address = "$2"
secret = "$SECRET"
mode = "append"
EOF
    for want in "listen = [\"127.0.0.1:$GW_PORT\"]" "per_source_per_minute = $3" \
        "per_username_per_minute = $4" "per_client_per_second = $5"; do
        grep -qF "$want" "$out.new" || die "editing $out: \`$want\` not set"
    done
    mv "$out.new" "$out"
}
# Throughput: only 127.0.0.1 is a client (127.0.0.2 is the unknown source); no rate limits.
make_config gateway 127.0.0.1/32 0 0 0
# Rate limiter: one attempt per source per minute, so nearly every request is limited.
make_config gateway-ratelimited 127.0.0.1/32 1 0 0
# Flood: both sources are clients, with the shipped default limits (120/minute per source,
# 30/minute per username, 500/s per client)...
make_config gateway-flood 127.0.0.0/8 120 30 500
# ...and the same without the per-client limit.
make_config gateway-flood-noclient 127.0.0.0/8 120 30 0

"$GW" --config "$DIR/gateway.toml" org add Bench > /dev/null
make_user() {
    local k=$1 pw="bench-password-$1" out seed
    printf '%s\n' "$pw" | "$GW" --config "$DIR/gateway.toml" person add "user$k" --org Bench \
        --name "User $k" --password-stdin > /dev/null 2>> "$DIR/users.err" || return 1
    out=$("$GW" --config "$DIR/gateway.toml" device add-totp "user$k" 2>> "$DIR/users.err") || return 1
    seed=$(printf '%s\n' "$out" | sed -n 's/^otpauth:.*[?&]secret=\([A-Za-z2-7]*\).*/\1/p')
    [ -n "$seed" ] || { echo "no otpauth secret for user$k" >> "$DIR/users.err"; return 1; }
    printf 'user%s %s %s\n' "$k" "$pw" "$seed"
}
export -f make_user
export GW DIR
t0=$(date +%s)
seq 0 $((N - 1)) | xargs -P 2 -I{} bash -c 'make_user {}' > "$DIR/all-users.txt" \
    || { cat "$DIR/users.err" >&2; die "creating users failed"; }
sort -n -k1.5,1 "$DIR/all-users.txt" > "$DIR/users.sorted"
[ "$(wc -l < "$DIR/users.sorted")" = "$N" ] || die "expected $N users"
# users.txt for the login run; legit1..legitK for the floods.
awk -v n="$LOGIN_USERS" -v m="$LEGIT_USERS" -v dir="$DIR" '{
    k = substr($1, 5) + 0
    if (k < n) print > (dir "/users.txt"); else print > (dir "/legit" (int((k - n) / m) + 1) ".txt")
}' "$DIR/users.sorted"
say "  $N users in $(( $(date +%s) - t0 )) s"
# The same users for FreeRADIUS, with the password only.
awk '{ printf "%s Cleartext-Password := \"%s\"\n", $1, $2 }' "$DIR/users.sorted" > "$DIR/fr-users"
awk '{ print $1, $2 }' "$DIR/users.txt" > "$DIR/users-pap.txt"

start_gateway() {
    local name=$1
    "$GW" --config "$DIR/$name.toml" serve > "$DIR/$name.out" 2> "$DIR/$name.err" &
    GW_PID=$!
    wait_ready "$GW_PORT" "$GW_PID" || { cat "$DIR/$name.err" >&2; die "the gateway ($name) did not start"; }
    say "gateway up ($name.toml, pid $GW_PID)"
}
stop_gateway() {
    kill -TERM "$GW_PID" 2>/dev/null || true
    wait "$GW_PID" 2>/dev/null || true
    GW_PID=
}

# --- gateway ------------------------------------------------------------------------------
busy=$(busy_now)
[ -n "$busy" ] && say "before measuring, processes using CPU: $busy"
start_gateway gateway
quiet
say "gateway: password + TOTP logins (pap-totp, concurrency 8, ${LOGIN_SECONDS} s)"
load gw-login --target "127.0.0.1:$GW_PORT" --server-pid "$GW_PID" --mode pap-totp \
    --users "$DIR/users.txt" --concurrency 8 --duration "$LOGIN_SECONDS"
# The machine's speed drifts (a shared VM): measure the ceiling again right after the logins.
say "argon2id verify rate again, right after the login run"
"$ARGON" --seconds 3 | tee "$DIR/argon2-after.txt" | sed 's/^/    /'
ARGON_AFTER=$(sed -n 's/^threads [0-9]*: \([0-9.]*\) verifies\/s.*/\1/p' "$DIR/argon2-after.txt" | tail -n 1)
isnum "$ARGON_AFTER" || die "cannot read argon2-rate's output"
ARGON_MEAN=$(calc "($ARGON_RATE + $ARGON_AFTER) / 2" 1)
quiet
say "gateway: Status-Server (concurrency 32, ${SECONDS_PER_RUN} s)"
load gw-status --target "127.0.0.1:$GW_PORT" --server-pid "$GW_PID" --mode status-server \
    --concurrency 32 --duration "$SECONDS_PER_RUN"
say "gateway: unknown client (from 127.0.0.2, $DROP_RATE/s, not awaited, ${SECONDS_PER_RUN} s)"
load gw-unknown --target "127.0.0.1:$GW_PORT" --server-pid "$GW_PID" --mode status-server \
    --source-ip 127.0.0.2 --timeout-ms 0 --rate "$DROP_RATE" --concurrency 4 --duration "$SECONDS_PER_RUN"
say "gateway: garbage from the client ($DROP_RATE/s, not awaited, 5 s)"
load gw-garbage --target "127.0.0.1:$GW_PORT" --server-pid "$GW_PID" --mode garbage \
    --timeout-ms 0 --rate "$DROP_RATE" --concurrency 4 --duration 5
stop_gateway

# The duplicate cache keeps every answer for 10 s, at most 65,536 of them: below 6,554
# requests/s it never fills; a sustained run above that fills it.
start_gateway gateway-ratelimited
quiet
say "gateway: rate-limited attempts (per_source_per_minute = 1), paced at 6,000/s for ${SECONDS_PER_RUN} s"
load gw-limited-paced --target "127.0.0.1:$GW_PORT" --server-pid "$GW_PID" --mode pap \
    --user nobody --password not-the-password --concurrency 32 --rate 6000 --duration "$SECONDS_PER_RUN"
stop_gateway
start_gateway gateway-ratelimited
say "gateway: rate-limited attempts, the first 60,000 as fast as they go (concurrency 32)"
load gw-limited-first --target "127.0.0.1:$GW_PORT" --server-pid "$GW_PID" --mode pap \
    --user nobody --password not-the-password --concurrency 32 --requests 60000 --duration "$SECONDS_PER_RUN"
say "gateway: rate-limited attempts, sustained as fast as they go (concurrency 32, ${SECONDS_PER_RUN} s)"
load gw-limited --target "127.0.0.1:$GW_PORT" --server-pid "$GW_PID" --mode pap \
    --user nobody --password not-the-password --concurrency 32 --duration "$SECONDS_PER_RUN"
stop_gateway

# A flood from 127.0.0.2 (extra radius-load arguments) for FLOOD_SECONDS, with legitimate
# pap-totp logins from 127.0.0.1 at LEGIT_RATE/s during the middle LEGIT_SECONDS.
flood_no=0
flood() {
    local name=$1; shift
    flood_no=$((flood_no + 1))
    timeout 120 "$LOAD" --secret "$SECRET" --summary "$DIR/$name-flood.sum" --label "$name-flood" \
        --target "127.0.0.1:$GW_PORT" --server-pid "$GW_PID" --source-ip 127.0.0.2 --mode pap \
        --user flood --password not-the-password --duration "$FLOOD_SECONDS" "$@" \
        > "$DIR/$name-flood.txt" 2> "$DIR/$name-flood.err" &
    BG_PID=$!
    sleep $(( (FLOOD_SECONDS - LEGIT_SECONDS) / 2 ))
    load "$name-legit" --target "127.0.0.1:$GW_PORT" --server-pid "$GW_PID" --source-ip 127.0.0.1 --mode pap-totp \
        --users "$DIR/legit$flood_no.txt" --rate "$LEGIT_RATE" --concurrency 2 --duration "$LEGIT_SECONDS"
    wait "$BG_PID" || die "the flood's radius-load failed"
    BG_PID=
    sed 's/^/    /' "$DIR/$name-flood.txt"
}
LEGIT_FLOOD_RATE=$(calc "10 * $LEGIT_RATE" 0)
CAP_FLOOD_RATE=$(calc "10 * $ARGON_RATE" 0)
start_gateway gateway-flood
say "gateway (default limits): flood from 127.0.0.2 at $LEGIT_FLOOD_RATE/s (10x the legitimate source) + logins from 127.0.0.1 at $LEGIT_RATE/s"
flood flood-10xlegit --rate "$LEGIT_FLOOD_RATE" --concurrency 4
say "gateway (default limits): flood from 127.0.0.2 at $CAP_FLOOD_RATE/s (10x the argon2id rate) + logins from 127.0.0.1"
flood flood-10xcap --rate "$CAP_FLOOD_RATE" --concurrency 32
say "gateway (default limits): flood from 127.0.0.2 as fast as it goes (concurrency 64) + logins from 127.0.0.1"
flood flood-max --concurrency 64
stop_gateway
start_gateway gateway-flood-noclient
say "gateway (per_client_per_second = 0): flood from 127.0.0.2 at $CAP_FLOOD_RATE/s + logins from 127.0.0.1"
flood flood-10xcap-noclient --rate "$CAP_FLOOD_RATE" --concurrency 32
stop_gateway

# --- FreeRADIUS -------------------------------------------------------------------------
start_freeradius() {
    BENCH_FR_PORT=$FR_PORT BENCH_FR_SECRET=$SECRET BENCH_FR_CLIENT_NET=$1 \
        BENCH_FR_USERS=$DIR/fr-users BENCH_FR_RUN_DIR=$DIR \
        freeradius -f -d "$ROOT/bench/freeradius" > "$DIR/freeradius.out" 2>&1 &
    FR_PID=$!
    wait_ready "$FR_PORT" "$FR_PID" || { cat "$DIR/freeradius.out" "$DIR/radius.log" >&2 || true; die "FreeRADIUS did not start"; }
    say "FreeRADIUS $FR_VERSION up (pid $FR_PID)"
}
busy=$(busy_now)
[ -n "$busy" ] && say "before measuring, processes using CPU: $busy"
start_freeradius 127.0.0.1/32
quiet
say "FreeRADIUS: PAP logins, password only (concurrency 32, ${SECONDS_PER_RUN} s)"
load fr-login --target "127.0.0.1:$FR_PORT" --server-pid "$FR_PID" --mode pap \
    --users "$DIR/users-pap.txt" --concurrency 32 --duration "$SECONDS_PER_RUN"
say "FreeRADIUS: PAP logins paced at 6,000/s (as the paced gateway run, ${SECONDS_PER_RUN} s)"
load fr-login-paced --target "127.0.0.1:$FR_PORT" --server-pid "$FR_PID" --mode pap \
    --users "$DIR/users-pap.txt" --concurrency 32 --rate 6000 --duration "$SECONDS_PER_RUN"
quiet
say "FreeRADIUS: Status-Server (concurrency 32, ${SECONDS_PER_RUN} s)"
load fr-status --target "127.0.0.1:$FR_PORT" --server-pid "$FR_PID" --mode status-server \
    --concurrency 32 --duration "$SECONDS_PER_RUN"
say "FreeRADIUS: unknown client (from 127.0.0.2, $DROP_RATE/s, not awaited, ${SECONDS_PER_RUN} s)"
load fr-unknown --target "127.0.0.1:$FR_PORT" --server-pid "$FR_PID" --mode status-server \
    --source-ip 127.0.0.2 --timeout-ms 0 --rate "$DROP_RATE" --concurrency 4 --duration "$SECONDS_PER_RUN"
say "FreeRADIUS: garbage from the client ($DROP_RATE/s, not awaited, 5 s)"
load fr-garbage --target "127.0.0.1:$FR_PORT" --server-pid "$FR_PID" --mode garbage \
    --timeout-ms 0 --rate "$DROP_RATE" --concurrency 4 --duration 5
kill -TERM "$FR_PID" 2>/dev/null || true
wait "$FR_PID" 2>/dev/null || true
FR_PID=

# --- table ------------------------------------------------------------------------------
row() { printf '%-62s %20s %20s\n' "$@"; }
lat() { printf '%s / %s' "$(get "$1" p50_ms)" "$(get "$1" p99_ms)"; }
drops() { printf '%s (%s)' "$(get "$1" sent_per_s)" "$(get "$1" socket_drops)"; }
echo
echo "Side by side: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, loopback; FreeRADIUS $FR_VERSION checks the password only"
row "" "mfa-gateway" "FreeRADIUS $FR_VERSION"
row "PAP logins accepted/s (gateway: + TOTP, argon2id)" "$(get gw-login accepts_per_s)" "$(get fr-login accepts_per_s)"
row "  rejects / timeouts" "$(get gw-login rejects) / $(get gw-login timeouts)" "$(get fr-login rejects) / $(get fr-login timeouts)"
row "  latency p50 / p99 ms" "$(lat gw-login)" "$(lat fr-login)"
row "  server CPU s" "$(get gw-login server_cpu_s)" "$(get fr-login server_cpu_s)"
row "  accepts per server CPU-second" "$(get gw-login accepts_per_cpu_s)" "$(get fr-login accepts_per_cpu_s)"
cores() { calc "$(get "$1" machine_busy_s) / $(get "$1" elapsed_s)" 2; }
row "  cores busy (all processes) of $(nproc)" "$(cores gw-login)" "$(cores fr-login)"
row "Status-Server answers/s" "$(get gw-status answers_per_s)" "$(get fr-status answers_per_s)"
row "  latency p50 / p99 ms" "$(lat gw-status)" "$(lat fr-status)"
row "  requests per server CPU-second" "$(get gw-status requests_per_cpu_s)" "$(get fr-status requests_per_cpu_s)"
row "Rate-limited rejects/s (FR: PAP accepts/s), paced at 6,000/s" "$(get gw-limited-paced rejects_per_s)" "$(get fr-login-paced accepts_per_s)"
row "  latency p50 / p99 ms" "$(lat gw-limited-paced)" "$(lat fr-login-paced)"
row "  requests per server CPU-second" "$(get gw-limited-paced requests_per_cpu_s)" "$(get fr-login-paced requests_per_cpu_s)"
row "Rate-limited rejects/s, first 60,000" "$(get gw-limited-first rejects_per_s)" "-"
row "  latency p50 / p99 ms" "$(lat gw-limited-first)" "-"
row "  requests per server CPU-second" "$(get gw-limited-first requests_per_cpu_s)" "-"
row "Rate-limited rejects/s, sustained ${SECONDS_PER_RUN} s" "$(get gw-limited rejects_per_s)" "-"
row "  latency p50 / p99 ms" "$(lat gw-limited)" "-"
row "  requests per server CPU-second" "$(get gw-limited requests_per_cpu_s)" "-"
row "Unknown client: sent/s (kernel socket drops)" "$(drops gw-unknown)" "$(drops fr-unknown)"
row "  requests per server CPU-second" "$(get gw-unknown requests_per_cpu_s)" "$(get fr-unknown requests_per_cpu_s)"
row "Garbage: sent/s (kernel socket drops)" "$(drops gw-garbage)" "$(drops fr-garbage)"
row "  requests per server CPU-second" "$(get gw-garbage requests_per_cpu_s)" "$(get fr-garbage requests_per_cpu_s)"
row "argon2id verifies/s, $(nproc) threads: before, after, mean" "$ARGON_RATE, $ARGON_AFTER, $ARGON_MEAN" ""
other() { local t=0 r v; for r in "$@"; do v=$(get "$r" other_cpu_s); isnum "$v" && t=$(calc "$t + $v" 2); done; echo "$t"; }
row "Other processes' CPU s during these runs" "$(other gw-login gw-status gw-limited-paced gw-limited-first gw-limited gw-unknown gw-garbage)" "$(other fr-login fr-login-paced fr-status fr-unknown fr-garbage)"
echo
echo "Floods from 127.0.0.2 (user 'flood', wrong password) with logins from 127.0.0.1 at $LEGIT_RATE/s"
printf '%-24s %12s %12s %14s %18s %8s %14s\n' "run" "flood sent/s" "answered/s" "server CPU s" "127.0.0.1 accepted" "rejects" "p50 / p99 ms"
for f in flood-10xlegit flood-10xcap flood-max flood-10xcap-noclient; do
    printf '%-24s %12s %12s %14s %18s %8s %14s\n' "$f" "$(get $f-flood sent_per_s)" "$(get $f-flood answers_per_s)" \
        "$(get $f-flood server_cpu_s)" "$(get $f-legit accepts) / $(get $f-legit sent)" "$(get $f-legit rejects)" "$(lat $f-legit)"
done

# --- goals ------------------------------------------------------------------------------
verdict() { if [ "$(calc "($1) ? 1 : 0" 0)" = 1 ]; then echo PASS; else echo FAIL; fi; }
echo
echo "Goals"
gl=$(get gw-login accepts_per_s)
echo "  1. password+TOTP logins/s >= 90 % of the raw argon2id rate: $gl vs $ARGON_MEAN = $(calc "100 * $gl / $ARGON_MEAN" 1) %: $(verdict "$gl >= 0.9 * $ARGON_MEAN")"
fr=$(get fr-login accepts_per_cpu_s)
frp=$(get fr-login-paced accepts_per_cpu_s)
echo "  2. no-hashing requests per server CPU-second >= 1.5 x FreeRADIUS's PAP accepts per server CPU-second"
echo "     (FreeRADIUS: $fr saturated, $frp paced at 6,000/s; each gateway run against the FreeRADIUS run with the same load)"
goal2() { # NAME LABEL FREERADIUS_FIGURE
    local v; v=$(get "$1" requests_per_cpu_s)
    if isnum "$v" && isnum "$3"; then
        echo "     $2: $v vs 1.5 x $3 = $(calc "1.5 * $3" 0) ($(calc "$v / $3" 2)x): $(verdict "$v >= 1.5 * $3")"
    else
        echo "     $2: n/a"
    fi
}
goal2 gw-status "Status-Server, saturated" "$fr"
goal2 gw-limited-paced "rate-limited, paced at 6,000/s" "$frp"
goal2 gw-limited-first "rate-limited, saturated, first 60,000" "$fr"
goal2 gw-limited "rate-limited, saturated, sustained 10 s" "$fr"
goal2 gw-unknown "unknown client, 50,000/s" "$fr"
echo "  3. logins from 127.0.0.1 keep succeeding during a flood from 127.0.0.2:"
for f in flood-10xlegit flood-10xcap flood-max flood-10xcap-noclient; do
    a=$(get $f-legit accepts); s=$(get $f-legit sent)
    echo "     $f: $a of $s accepted: $(verdict "$s > 0 && $a == $s")"
done
say "done in $(( $(date +%s) - started_at )) s; $(uptime | sed 's/^ *//')"
