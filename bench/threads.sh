#!/usr/bin/env bash
# Where a login's CPU goes besides the hash (issue 17): the server's CPU and context switches
# per accepted login, per kind of thread (the hashing threads, tokio's runtime threads, sqlx's
# SQLite threads), read from /proc/PID/task/* before and after a password+TOTP load. Unlike
# "CPU per login / one argon2id verify", this does not move with the machine's speed: both
# parts are counted in the same process over the same seconds.
#
#   bash bench/threads.sh                     # 3 runs of 20 s on an empty gateway (SQLite)
#   BENCH_OTHER=/path/to/old/mfa-gateway bash bench/threads.sh   # the same, taking turns
#                                             # with another build (an A/B in one go)
#   bash bench/threads.sh postgres [URL]      # on PostgreSQL (default URL
#                                             # postgres://postgres@127.0.0.1:5432/test, a
#                                             # schema mfa_threads of its own, dropped after)
#   BENCH_EVENTS=15000000 bash bench/threads.sh postgres   # on a year of audit events
#
# On PostgreSQL it also counts the database's CPU per login: every `postgres` process's,
# from /proc (the server must run on this machine), so that what the gateway spends and
# what its database spends on the same cores are told apart.
#
# Knobs: BENCH_RUNS (3), BENCH_SECONDS (20), BENCH_OTHER (a second gateway binary),
# BENCH_EVENTS (0: people and devices only; bench/year.sh's data set), BENCH_SERVER_ENV
# (e.g. "TOKIO_WORKER_THREADS=1"), BENCH_OTHER_ENV (NAME=VALUE words for the other turn's
# server only; with no BENCH_OTHER the other turn runs this build: e.g.
# BENCH_OTHER_ENV="MFA_GATEWAY_STORE_URL=sqlite://mfa-gateway.db?synchronous=normal" takes
# turns between SQLite's two sync levels), BENCH_NO_BUILD=1, BENCH_PORT (18800).
# Concurrency: twice the cores. Each run starts on a fresh TOTP step.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

db_choice threads.sh "$@"
EVENTS=${BENCH_EVENTS:-0}
RUNS=${BENCH_RUNS:-3}
SECONDS_PER_RUN=${BENCH_SECONDS:-20}
PORT=${BENCH_PORT:-18800}
HTTP_PORT=$((PORT + 1))
CONCURRENCY=$(($(nproc) * 2))
SECRET=bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
release_binaries ${BENCH_OTHER:+"$BENCH_OTHER"}

D=$(mktemp -d "${TMPDIR:-/tmp}/mfa-threads.XXXXXX")
PID=
cleanup() {
    [ -n "$PID" ] && { kill -TERM "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; }
    [ "$DB" = postgres ] && { psql "$PG_URL" -qc "DROP SCHEMA IF EXISTS mfa_threads CASCADE" >/dev/null 2>&1 || true; }
    rm -rf "$D"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

URL=sqlite://mfa-gateway.db
if [ "$DB" = postgres ]; then
    URL=$(pg_schema_url "$PG_URL" mfa_threads)
fi
say "a gateway of 10,000 people with $EVENTS audit events ($DB) in $D"
year_gateway "$D" "$PORT" "$HTTP_PORT" "$SECRET" "$EVENTS" "$URL"
sed 's/^/    /' "$D/year.txt"

# One line per thread: TID, kind (the name without its number), CPU ticks, voluntary and
# involuntary context switches.
snapshot() {
    local t name stat
    for t in /proc/"$PID"/task/*; do
        name=$(cat "$t/comm" 2>/dev/null) || continue
        stat=$(sed 's/^.*) //' "$t/stat" 2>/dev/null) || continue
        # shellcheck disable=SC2086 # the fields of stat, split on blanks
        set -- $stat
        printf '%s %s %s %s %s\n' "${t##*/}" "${name%%-[0-9]*}" "$((${12} + ${13}))" \
            "$(awk '$1 == "voluntary_ctxt_switches:" { print $2 }' "$t/status")" \
            "$(awk '$1 == "nonvoluntary_ctxt_switches:" { print $2 }' "$t/status")"
    done | sort
    # The whole process, threads that have ended included (a SQLite connection's thread
    # ends with the connection, at 30 s of age): the totals come from this line.
    stat=$(sed 's/^.*) //' "/proc/$PID/stat")
    # shellcheck disable=SC2086
    set -- $stat
    printf 'zz-all process %s 0 0\n' "$((${12} + ${13}))"
    # The database's processes, as one line of their own (PostgreSQL only).
    [ "$DB" = postgres ] || return 0
    local p ticks=0
    for p in /proc/[0-9]*; do
        [ "$(cat "$p/comm" 2>/dev/null)" = postgres ] || continue
        stat=$(sed 's/^.*) //' "$p/stat" 2>/dev/null) || continue
        # shellcheck disable=SC2086
        set -- $stat
        ticks=$((ticks + ${12} + ${13}))
    done
    printf 'zz-db postgres %s 0 0\n' "$ticks"
}

one_run() { # LABEL BINARY [NAME=VALUE words for this turn's server]
    local label=$1 bin=$2 extra=${3:-}
    BENCH_SERVER_ENV="${BENCH_SERVER_ENV:-} $extra" serve "$D" "$bin"
    sleep $((31 - $(date +%s) % 30))
    snapshot > "$D/before"
    "$LOAD" --target "127.0.0.1:$PORT" --secret "$SECRET" --users "$D/users-many.txt" \
        --mode pap-totp --concurrency "$CONCURRENCY" --duration "$SECONDS_PER_RUN" \
        --summary "$D/run.sum" > "$D/run.txt" 2>&1 || { cat "$D/run.txt" >&2; die "radius-load failed"; }
    snapshot > "$D/after"
    kill -TERM "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
    PID=
    local accepts hz
    accepts=$(get "$D/run.sum" accepts)
    [ "${accepts:-0}" -gt 0 ] || die "no login was accepted ($D/run.txt)"
    hz=$(getconf CLK_TCK)
    join "$D/before" "$D/after" | awk -v n="$accepts" -v hz="$hz" -v label="$label" '
        $2 == "process" { all = $7 - $3; next }
        { kind = $2; cpu[kind] += $7 - $3; vol[kind] += $8 - $4; inv[kind] += $9 - $5; if (kind != "postgres") seen += $7 - $3 }
        END {
            hash = cpu["mfa-hash"]
            # Threads that ended between the two looks (their CPU is in the process total only).
            if (all > seen) cpu["(ended threads)"] = all - seen
            printf "%-6s %5d logins  CPU per login: hashing %6.2f ms, the rest %5.2f ms (%4.1f %% of the server'"'"'s)",
                label, n, 1000 * hash / hz / n, 1000 * (all - hash) / hz / n, 100 * (all - hash) / (all + 0.0001)
            if ("postgres" in cpu) printf ", the database %5.2f ms", 1000 * cpu["postgres"] / hz / n
            printf "\n"
            for (k in cpu)
                printf "         %-16s CPU %6.2f ms  voluntary switches %6.1f  involuntary %6.1f  (per login)\n",
                    k, 1000 * cpu[k] / hz / n, vol[k] / n, inv[k] / n
        }'
}

for r in $(seq 1 "$RUNS"); do
    one_run "this" "$GW"
    if [ -n "${BENCH_OTHER:-}${BENCH_OTHER_ENV:-}" ]; then
        one_run "other" "${BENCH_OTHER:-$GW}" "${BENCH_OTHER_ENV:-}"
    fi
done
