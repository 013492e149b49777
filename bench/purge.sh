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
# With BENCH_PACE=N, each run also serves the year and measures password+TOTP RADIUS logins
# paced at N/s (BENCH_LOGIN_SECONDS each): once before the purge, once while it runs. It
# prints both p99s and their ratio (issue 17's goal: <= 2x). A p99 of ~1,000 logins is their
# 10th slowest, so one run says little: take several (BENCH_RUNS) and look at the spread.
#
#   BENCH_PACE=45 BENCH_PURGE_EVENTS=60000 BENCH_RUNS=4 bash bench/purge.sh
#
# With BENCH_PACE_EVERY=S as well, a load every S s while the purge goes on, to its end: the
# p99 of each and the worst against the one before (a long purge's middle and end, not only
# its first seconds).
#
#   BENCH_EVENTS=15000000 BENCH_PURGE_EVENTS=5000000 BENCH_RUNS=1 BENCH_PACE=40 \
#   BENCH_PACE_EVERY=300 bash bench/purge.sh
#
# Knobs: BENCH_EVENTS (3000000), BENCH_PURGE_EVENTS (200000), BENCH_RUNS (2),
# BENCH_OTHER (a second gateway binary), BENCH_PACE (unset: no logins),
# BENCH_PACE_EVERY (unset: one load during the purge), BENCH_LOGIN_SECONDS (20),
# BENCH_CONCURRENCY (4), BENCH_NO_BUILD=1.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

db_choice purge.sh "$@"
EVENTS=${BENCH_EVENTS:-3000000}
PURGE_EVENTS=${BENCH_PURGE_EVENTS:-200000}
RUNS=${BENCH_RUNS:-2}
PACE=${BENCH_PACE:-}
LOGIN_SECONDS=${BENCH_LOGIN_SECONDS:-20}
PACE_EVERY=${BENCH_PACE_EVERY:-}
CONCURRENCY=${BENCH_CONCURRENCY:-4}
PORT=18900 HTTP_PORT=18901 SECRET="bench-purge-$(date +%s)" PID= BG_PID=
release_binaries ${BENCH_OTHER:+"$BENCH_OTHER"}

D=$(mktemp -d "${TMPDIR:-/tmp}/mfa-purge.XXXXXX")
cleanup() {
    # BG_PID is the subshell that times the purge: stop the purge in it too.
    [ -n "$BG_PID" ] && { pkill -P "$BG_PID" 2>/dev/null; kill "$BG_PID" 2>/dev/null; }
    [ -n "$PID" ] && { kill -TERM "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; }
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
    year_gateway "$1" "$PORT" "$HTTP_PORT" "$SECRET" "$EVENTS" "$url"
}

# Paced logins: a TOTP code is single use, so each load takes the next fifth of the people.
SLICE=0 P99=
paced() { # DIR NAME (sets P99, in ms)
    local dir=$1 name=$2 n
    n=$(wc -l < "$dir/users-many.txt")
    sed -n "$((n * SLICE / 5 + 1)),$((n * (SLICE + 1) / 5))p" "$dir/users-many.txt" > "$dir/users-$name.txt"
    SLICE=$(((SLICE + 1) % 5))
    timeout 600 "$LOAD" --target "127.0.0.1:$PORT" --secret "$SECRET" --users "$dir/users-$name.txt" \
        --summary "$dir/$name.sum" --label "$name" --server-pid "$PID" --mode pap-totp \
        --concurrency "$CONCURRENCY" --duration "$LOGIN_SECONDS" --rate "$PACE" \
        > "$dir/$name.txt" 2> "$dir/$name.err" || { cat "$dir/$name.err" >&2; die "radius-load $name failed"; }
    [ "$(get "$dir/$name.sum" rejects)" = 0 ] || { cat "$dir/$name.txt" >&2; die "radius-load $name: logins refused"; }
    P99=$(get "$dir/$name.sum" p99_ms)
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
    local without="" during="" all="" worst=""
    if [ -n "$PACE" ]; then
        serve "$D/run" "$bin"
        # The server's own retention job runs 20 s after its start: let it pass first.
        sleep 25
        paced "$D/run" paced
        without=$P99
    fi
    t0=$(date +%s.%N)
    # The purge's end is taken where it ends, not after a load that may still be running.
    ( "$bin" --config "$D/run/gateway.toml" audit purge --at "$AT" > "$D/run/purge.txt" 2> "$D/run/purge.err"
      rc=$?; date +%s.%N > "$D/run/purge.end"; exit $rc ) &
    BG_PID=$!
    if [ -n "$PACE" ]; then
        paced "$D/run" purging
        during=$P99 all=$P99 worst=$P99
        # With BENCH_PACE_EVERY, more loads while the purge goes on, one each EVERY s: the
        # p99 of each (and their worst) says whether a long purge stays as gentle as its start.
        if [ -n "$PACE_EVERY" ]; then
            local i=1
            while kill -0 "$BG_PID" 2>/dev/null; do
                local k=0
                while [ "$k" -lt "$PACE_EVERY" ] && kill -0 "$BG_PID" 2>/dev/null; do
                    sleep 1
                    k=$((k + 1))
                done
                kill -0 "$BG_PID" 2>/dev/null || break
                i=$((i + 1))
                paced "$D/run" "purging-$i"
                all="$all, $P99"
                say "$label: load $i during the purge ($(calc "$(date +%s.%N) - $t0" 0) s in): p99 $P99 ms"
                worst=$(calc "($P99 > $worst) ? $P99 : $worst" 2)
            done
        fi
    fi
    wait "$BG_PID" || { cat "$D/run/purge.err" >&2; die "audit purge failed ($label)"; }
    BG_PID=
    t1=$(cat "$D/run/purge.end")
    if [ -n "$PACE" ]; then
        kill -TERM "$PID" 2>/dev/null || true
        wait "$PID" 2>/dev/null || true
        PID=
    fi
    n=$(sed -n 's/^purge done: \([0-9]*\) events redacted.*/\1/p' "$D/run/purge.txt")
    printf '%-6s %8s rows in %6.1f s: %6.0f rows/s' "$label" "$n" "$(calc "$t1 - $t0" 1)" \
        "$(calc "${n:-0} / ($t1 - $t0)" 0)"
    if [ -n "$PACE" ]; then
        printf '; logins at %s/s: p99 %s ms before, %s ms during = %sx' "$PACE" "$without" "$during" \
            "$(calc "$during / $without" 2)"
        [ -z "$PACE_EVERY" ] || printf '; all loads during: %s ms, the worst %sx' "$all" \
            "$(calc "$worst / $without" 2)"
    fi
    printf '\n'
    "$bin" --config "$D/run/gateway.toml" audit verify > "$D/run/verify.txt" \
        || { cat "$D/run/verify.txt" >&2; die "audit verify failed after the purge ($label)"; }
}

for _ in $(seq 1 "$RUNS"); do
    one_run this "$GW"
    if [ -n "${BENCH_OTHER:-}" ]; then one_run other "$BENCH_OTHER"; fi
done
