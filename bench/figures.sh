#!/usr/bin/env bash
# Issue 17's figures: a year of a 10,000-person platform, one command per database.
#
#   bash bench/figures.sh sqlite
#   bash bench/figures.sh postgres postgres://postgres@127.0.0.1:5432/bench
#
# Builds the release binaries, then for an EMPTY gateway (the people and devices, no audit
# history) and for a YEAR (15 million audit events, bench/year.sh's data set) measures, on
# loopback, with the same binaries and the same users:
#   - RADIUS password+TOTP logins/s vs the raw argon2id rate (goal >= 0.90), and server CPU
#     per accepted login vs one argon2id verify (goal <= 1.05x); the raw rate is argon2-rate's
#     pooled one (threads that keep their argon2 memory, as the gateway's do), measured in
#     each phase right before and right after its logins (their mean); one verify is timed
#     alone (1 thread) and among all the hashing threads at once (as the server runs them);
#   - the auditor's pages, p50/p95 (goal p95 < 200 ms): search by person, organisation + a
#     week, the per-day chart for a year, the default page;
#   - CSV and JSON-lines exports of ~1 million events (streamed: server RSS growth < 50 MiB);
#   - `audit verify` (events/s) and `audit verify --from-checkpoint`;
#   - YEAR only: the daily purge of ~5 million expired rows beside paced logins (login p99
#     during the purge <= 2x without), the SIEM follower catching up on 1 million events,
#     the database size per million events;
#   - server RSS idle, after 100,000 logins, during the export, after the load (goal idle
#     <= 30 MiB, <= 120 MiB under load, back near idle after).
# Every figure is printed as it comes ("==>" lines) and again in a table at the end. PostgreSQL:
# the URL's database gets two schemas (mfa_figures_empty, mfa_figures_year), dropped at exit.
#
# Knobs (environment): BENCH_EVENTS (15000000), BENCH_PEOPLE (10000), BENCH_ORGS (300),
# BENCH_DEVICES (30000), BENCH_THREADS (hashing_threads, 0 = all cores), BENCH_LOGIN_SECONDS
# (20), BENCH_RSS_LOGINS (100000), BENCH_EXPORT_EVENTS (1000000), BENCH_PURGE_EVENTS
# (5000000), BENCH_SIEM_EVENTS (1000000), BENCH_ROUNDS (page views per page, 20),
# BENCH_NO_BUILD=1, BENCH_KEEP=1 (keep the folder), BENCH_PORT (18600: RADIUS; +1 HTTP),
# BENCH_SERVER_ENV (NAME=VALUE words for the server, e.g. "MALLOC_CONF=..."),
# BENCH_PROFILE (release; debug only to try this script).
# Smoke run (a minute): BENCH_EVENTS=20000 BENCH_PEOPLE=600 BENCH_ORGS=20 BENCH_DEVICES=1800
#   BENCH_LOGIN_SECONDS=3 BENCH_RSS_LOGINS=200 BENCH_EXPORT_EVENTS=2000 BENCH_PURGE_EVENTS=5000
#   BENCH_SIEM_EVENTS=5000 BENCH_ROUNDS=3 BENCH_PROFILE=debug bash bench/figures.sh sqlite
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

. bench/lib.sh

DB=${1:-sqlite}
PG_URL=${2:-}
case "$DB" in
    sqlite) ;;
    postgres) [ -n "$PG_URL" ] || die "usage: bench/figures.sh postgres postgres://USER@HOST:PORT/DATABASE" ;;
    *) die "usage: bench/figures.sh sqlite | postgres URL" ;;
esac
EVENTS=${BENCH_EVENTS:-15000000}
PEOPLE=${BENCH_PEOPLE:-10000}
ORGS=${BENCH_ORGS:-300}
DEVICES=${BENCH_DEVICES:-30000}
THREADS=${BENCH_THREADS:-0}
LOGIN_SECONDS=${BENCH_LOGIN_SECONDS:-20}
RSS_LOGINS=${BENCH_RSS_LOGINS:-100000}
EXPORT_EVENTS=${BENCH_EXPORT_EVENTS:-1000000}
PURGE_EVENTS=${BENCH_PURGE_EVENTS:-5000000}
SIEM_EVENTS=${BENCH_SIEM_EVENTS:-1000000}
ROUNDS=${BENCH_ROUNDS:-20}
PORT=${BENCH_PORT:-18600}
HTTP_PORT=$((PORT + 1))
CORES=$(nproc)
[ "$THREADS" = 0 ] && HASH_THREADS=$CORES || HASH_THREADS=$THREADS
CONCURRENCY=$((HASH_THREADS * 2))

# BENCH_PROFILE=debug: the debug binaries (for a smoke run of this script, not for figures).
PROFILE=${BENCH_PROFILE:-release}
GW=$ROOT/target/$PROFILE/mfa-gateway
LOAD=$ROOT/target/$PROFILE/radius-load
ARGON=$ROOT/target/$PROFILE/argon2-rate
YEAR=$ROOT/target/$PROFILE/year
PAGES=$ROOT/target/$PROFILE/audit-pages

if [ -z "${BENCH_NO_BUILD:-}" ]; then
    say "building ($PROFILE): mfa-gateway, mfa-bench"
    if [ "$PROFILE" = release ]; then
        cargo build --release -q -p mfa-gateway -p mfa-bench
    else
        cargo build -q -p mfa-gateway -p mfa-bench
    fi
fi
for b in "$GW" "$LOAD" "$ARGON" "$YEAR" "$PAGES"; do
    [ -x "$b" ] || die "$b missing: cargo build --release -p mfa-gateway -p mfa-bench"
done

DIR=$(mktemp -d "${TMPDIR:-/tmp}/mfa-figures.XXXXXX")
PID=
BG_PID=
cleanup() {
    for pid in $BG_PID $PID; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in $BG_PID $PID; do wait "$pid" 2>/dev/null || true; done
    if [ "$DB" = postgres ]; then
        for s in mfa_figures_empty mfa_figures_year; do
            psql "$PG_URL" -qc "DROP SCHEMA IF EXISTS $s CASCADE" >/dev/null 2>&1 || true
        done
    fi
    if [ -n "${BENCH_KEEP:-}" ]; then say "kept $DIR"; else rm -rf "$DIR"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
SECRET=bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')

declare -A FIG
fig() { FIG["$1"]=$2; }
rss_mib() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status" 2>/dev/null || echo n/a; }
date_of() { date -u -d "@$1" +%Y-%m-%d; }

# --- raw argon2id rate ------------------------------------------------------------------
# Measured in each phase just before and just after its logins, and the logins compared with
# the mean: this machine's speed moves from minute to minute (argon2-rate alone, nothing else
# running, gave 15.3 to 21.3 ms per verify within four minutes), so a rate taken once at the
# start was up to 20 % off by the second phase.
argon_rate() { # NAME WHEN: sets ARGON_ONE, ARGON_ALL
    say "[$1] argon2id verify rate $2 the logins, 1..$CORES threads (argon2-rate --seconds 3)"
    "$ARGON" --seconds 3 | tee "$DIR/argon2-$1-$2.txt" | sed 's/^/    /'
    ARGON_ONE=$(sed -n 's/^threads 1: \([0-9.]*\) verifies\/s.*/\1/p' "$DIR/argon2-$1-$2.txt")
    ARGON_ALL=$(sed -n "s/^threads $HASH_THREADS: \([0-9.]*\) verifies\/s.*/\1/p" "$DIR/argon2-$1-$2.txt")
    [ -n "$ARGON_ALL" ] || ARGON_ALL=$(sed -n 's/^threads [0-9]*: \([0-9.]*\) verifies\/s.*/\1/p' "$DIR/argon2-$1-$2.txt" | tail -n 1)
    say "[$1] argon2id $2: $ARGON_ONE verifies/s on 1 thread, $ARGON_ALL on $HASH_THREADS"
}

# --- a gateway folder -------------------------------------------------------------------
# NAME: init, then RADIUS and plain HTTP on loopback, no rate limits, the hashing threads,
# the store (SQLite file, or a PostgreSQL schema), the SIEM stream to a file (off at first).
setup() {
    local name=$1 dir=$DIR/$1
    mkdir -p "$dir"
    "$GW" --config "$dir/gateway.toml" init > "$dir/init.txt"
    local url="sqlite://mfa-gateway.db"
    if [ "$DB" = postgres ]; then
        url=$(pg_schema_url "$PG_URL" "mfa_figures_$name")
    fi
    bench_toml "$dir/gateway.toml" "$url" "$PORT" "$HTTP_PORT" "$THREADS" "$SECRET" \
        || die "editing $dir/gateway.toml failed"
    rm -f "$dir/mfa-gateway.db"
    grep -q "listen = \[\"127.0.0.1:$HTTP_PORT\"\]" "$dir/gateway.toml" || die "editing $dir/gateway.toml failed"
}

# The id of the chain's last event (a checkpoint, then the quick verify names the head).
head_id() {
    "$GW" --config "$1/gateway.toml" audit checkpoint > /dev/null
    "$GW" --config "$1/gateway.toml" audit verify --from-checkpoint | sed -n 's/.*head event \([0-9]*\).*/\1/p'
}

set_siem() { # DIR on|off
    if [ "$2" = on ]; then
        sed -i 's/^sink = "off"/sink = "file"/' "$1/gateway.toml"
    else
        sed -i 's/^sink = "file"/sink = "off"/' "$1/gateway.toml"
    fi
}

start() { serve "$1" "$GW"; }

stop() {
    [ -n "$PID" ] || return 0
    kill -TERM "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
    PID=
}

# A TOTP code is single use: the timed runs each get users of their own (the users file,
# without the auditor on its first line, cut into slices), the long memory run all of them
# after the next 30-second step.
slice() { # DIR NAME FIRST_PERCENT LAST_PERCENT
    local n; n=$(($(wc -l < "$1/users.txt") - 1))
    tail -n +2 "$1/users.txt" | sed -n "$((n * $3 / 100 + 1)),$((n * $4 / 100))p" > "$1/users-$2.txt"
}
next_step() { sleep $((31 - $(date +%s) % 30)); }

load() { # NAME DIR ARGS... (users: DIR/users-NAME.txt)
    local name=$1 dir=$2; shift 2
    timeout 3600 "$LOAD" --target "127.0.0.1:$PORT" --secret "$SECRET" --users "$dir/users-$name.txt" \
        --summary "$dir/$name.sum" --label "$name" --server-pid "$PID" "$@" \
        > "$dir/$name.txt" 2> "$dir/$name.err" || { cat "$dir/$name.err" >&2; die "radius-load $name failed"; }
    sed 's/^/    /' "$dir/$name.txt"
}

# --- one phase: EMPTY or YEAR -----------------------------------------------------------
phase() {
    local name=$1 events=$2 dir=$DIR/$1
    say "[$name] gateway in $dir, $events audit events ($DB)"
    setup "$name"
    local end; end=$(date +%s)
    "$YEAR" --config "$dir/gateway.toml" --orgs "$ORGS" --people "$PEOPLE" --devices "$DEVICES" \
        --events "$events" --end "$end" --users-file "$dir/users.txt" \
        > "$dir/year.txt" 2> "$dir/year.err" || { cat "$dir/year.err" >&2; die "year failed"; }
    sed 's/^/    /' "$dir/year.txt"
    # The bulk load leaves gigabytes to write back (PostgreSQL's checkpoint, the page
    # cache): wait for them, so that what follows measures the platform, not the load.
    local settle=$SECONDS
    if [ "$DB" = postgres ]; then
        psql "$PG_URL" -qc CHECKPOINT > /dev/null 2>&1 || say "[$name] CHECKPOINT refused (needs a superuser or pg_checkpoint); going on"
    fi
    sync
    say "[$name] the load written back in $((SECONDS - settle)) s (checkpoint, sync)"
    slice "$dir" login 0 40; slice "$dir" paced 40 60; slice "$dir" purging 60 80; slice "$dir" many 0 100
    fig "$name.year_s" "$(sed -n 's/^year: total *\([0-9.]*\) s/\1/p' "$dir/year.txt")"
    fig "$name.db_mib_per_m" "$(sed -n 's/^year: database size .*(\([0-9.]*\) MiB per million.*/\1/p' "$dir/year.txt")"
    fig "$name.audit_mib_per_m" "$(sed -n 's/^year: audit table + indexes .*(\([0-9.]*\) MiB per million.*/\1/p' "$dir/year.txt")"
    local last; last=$(head_id "$dir")
    printf '%s' "${last:-0}" > "$dir/siem.position"

    # SIEM: on from the start, at the head (nothing to catch up yet).
    set_siem "$dir" on
    start "$dir"
    # The server's own retention job runs 20 s after its start (on the year: the rows that
    # came past 365 days since the data set was made). Let it pass, and jemalloc give back
    # what it freed (a 10-second decay), before measuring: RSS every 5 s from 25 s on, until
    # two samples in a row are within 0.5 MiB (90 s at most). On the 15-million-event year
    # a single sample at 25 s caught the job's reads still in memory (45.5 MiB; 1 million
    # events, bench/idle-rss.sh: 35.2 at 25 s, 31.1 at 30 s, 31.0-31.6 to 90 s).
    local waited=25 prev cur
    sleep 25
    cur=$(rss_mib "$PID")
    while [ "$waited" -lt 90 ]; do
        sleep 5
        waited=$((waited + 5))
        prev=$cur
        cur=$(rss_mib "$PID")
        awk -v a="$prev" -v b="$cur" 'BEGIN { exit !(a - b < 0.5 && b - a < 0.5) }' && break
    done
    fig "$name.rss_idle" "$cur"
    say "[$name] server RSS idle: ${FIG[$name.rss_idle]} MiB (steady at $waited s after start)"

    # Logins vs argon2id, measured right before and right after them.
    argon_rate "$name" before
    local one_before=$ARGON_ONE all_before=$ARGON_ALL
    load login "$dir" --mode pap-totp --concurrency "$CONCURRENCY" --duration "$LOGIN_SECONDS"
    argon_rate "$name" after
    fig "$name.argon_range" "$all_before-$ARGON_ALL"
    ARGON_ALL=$(calc "($all_before + $ARGON_ALL) / 2" 1)
    ARGON_MS=$(calc "2000 / ($one_before + $ARGON_ONE)" 2)
    fig "$name.argon_all" "$ARGON_ALL"
    fig "$name.argon_ms" "$ARGON_MS"
    # One verify's time when all the hashing threads verify at once, as in the server under
    # load (each is slower than alone: the threads share the memory bus and the caches).
    local argon_ms_all; argon_ms_all=$(calc "1000 * $HASH_THREADS / $ARGON_ALL" 2)
    fig "$name.argon_ms_all" "$argon_ms_all"
    local rate cpu accepts
    rate=$(get "$dir/login.sum" accepts_per_s); cpu=$(get "$dir/login.sum" server_cpu_s); accepts=$(get "$dir/login.sum" accepts)
    fig "$name.logins" "$rate"
    fig "$name.ratio" "$(calc "$rate / $ARGON_ALL" 2)"
    fig "$name.cpu_ms" "$(calc "1000 * $cpu / $accepts" 2)"
    fig "$name.cpu_x" "$(calc "(1000 * $cpu / $accepts) / $ARGON_MS" 2)"
    fig "$name.cpu_x_all" "$(calc "(1000 * $cpu / $accepts) / $argon_ms_all" 2)"
    fig "$name.login_p99" "$(get "$dir/login.sum" p99_ms)"
    say "[$name] logins $rate/s vs argon2id $ARGON_ALL/s = ${FIG[$name.ratio]} (goal >= 0.90); server CPU per login ${FIG[$name.cpu_ms]} ms vs one verify $ARGON_MS ms = ${FIG[$name.cpu_x]}x (goal <= 1.05x), vs one verify among $HASH_THREADS at once $argon_ms_all ms = ${FIG[$name.cpu_x_all]}x"

    # The auditor's pages and the exports (a range of about EXPORT_EVENTS events).
    local per_day export_days
    per_day=$(calc "($events + 1) / 365" 0)
    export_days=$(calc "int($EXPORT_EVENTS / ($per_day + 1)) + 1" 0)
    [ "$export_days" -gt 365 ] && export_days=365
    "$PAGES" --base "http://127.0.0.1:$HTTP_PORT" --users "$dir/users.txt" --rounds "$ROUNDS" \
        --person y00042 --org "Year org 001" --week "$(date_of $((end - 180 * 86400)))" \
        --year-from "$(date_of $((end - 364 * 86400)))" \
        --export-from "$(date_of $((end - export_days * 86400)))" --export-to "$(date_of "$end")" \
        --server-pid "$PID" --summary "$dir/pages.sum" | tee "$dir/pages.txt" | sed 's/^/    /'
    for p in person org_week chart_year default_30_days; do
        fig "$name.page_$p" "$(get "$dir/pages.sum" "page_${p}_p95_ms")"
    done
    for f in csv jsonl; do
        local n s g
        n=$(get "$dir/pages.sum" "export_${f}_events"); s=$(get "$dir/pages.sum" "export_${f}_seconds")
        g=$(get "$dir/pages.sum" "export_${f}_rss_growth_bytes")
        fig "$name.export_${f}_rate" "$(calc "$n / $s" 0)"
        fig "$name.export_${f}_events" "$n"
        fig "$name.export_${f}_rss" "$(calc "$g / 1048576" 1)"
    done
    fig "$name.rss_export" "$(calc "${FIG[$name.rss_idle]} + ${FIG[$name.export_csv_rss]}" 1)"

    # audit verify, whole and from the last checkpoint.
    "$GW" --config "$dir/gateway.toml" audit checkpoint > /dev/null
    "$GW" --config "$dir/gateway.toml" audit verify | tee "$dir/verify.txt" | sed 's/^/    /'
    fig "$name.verify_rate" "$(sed -n 's/.*s, \([0-9]*\) events\/s).*/\1/p' "$dir/verify.txt")"
    fig "$name.verify_s" "$(sed -n 's/.*(\([0-9.]*\) s, [0-9]* events\/s).*/\1/p' "$dir/verify.txt")"
    "$GW" --config "$dir/gateway.toml" audit verify --from-checkpoint | tee "$dir/verify-cp.txt" | sed 's/^/    /'
    fig "$name.verify_cp_s" "$(sed -n 's/.*(\([0-9.]*\) s, [0-9]* events\/s).*/\1/p' "$dir/verify-cp.txt")"

    if [ "$name" = year ]; then
        # The daily purge of about PURGE_EVENTS expired login attempts beside paced logins.
        local pace purge_days at
        pace=$(calc "$rate / 2" 0); [ "$pace" -lt 1 ] && pace=1
        load paced "$dir" --mode pap-totp --concurrency "$CONCURRENCY" --duration "$LOGIN_SECONDS" --rate "$pace"
        fig year.p99_paced "$(get "$dir/paced.sum" p99_ms)"
        purge_days=$(calc "int($PURGE_EVENTS * 365 / ($events * 0.95 + 1)) + 1" 0)
        at=$((end + purge_days * 86400))
        say "[$name] purging as of $(date_of "$at") (about $PURGE_EVENTS expired login attempts) beside logins paced at $pace/s"
        local t0=$SECONDS
        ( "$GW" --config "$dir/gateway.toml" audit purge --at "$at" > "$dir/purge.txt" 2> "$dir/purge.err" ) &
        BG_PID=$!
        load purging "$dir" --mode pap-totp --concurrency "$CONCURRENCY" --duration "$LOGIN_SECONDS" --rate "$pace"
        wait "$BG_PID" || { cat "$dir/purge.err" >&2; die "audit purge failed"; }
        BG_PID=
        local purge_s=$((SECONDS - t0)) purged
        purged=$(sed -n 's/^purge done: \([0-9]*\) events redacted.*/\1/p' "$dir/purge.txt")
        sed 's/^/    /' "$dir/purge.txt"
        fig year.purged "$purged"
        fig year.purge_rate "$(calc "$purged / ($purge_s + 0.001)" 0)"
        fig year.p99_purging "$(get "$dir/purging.sum" p99_ms)"
        fig year.p99_x "$(calc "${FIG[year.p99_purging]} / ${FIG[year.p99_paced]}" 2)"
        say "[$name] purge: $purged rows in $purge_s s; login p99 ${FIG[year.p99_purging]} ms vs ${FIG[year.p99_paced]} ms without = ${FIG[year.p99_x]}x (goal <= 2x)"
        "$GW" --config "$dir/gateway.toml" audit verify | sed 's/^/    after the purge: /'

        # SIEM catch-up: restart with the position SIEM_EVENTS behind the head.
        stop
        last=$(head_id "$dir")
        local from=$((last - SIEM_EVENTS)); [ "$from" -lt 0 ] && from=0
        printf '%s' "$from" > "$dir/siem.position"
        rm -f "$dir/audit-stream.jsonl"
        t0=$(date +%s.%N)
        start "$dir"
        while [ "$(cat "$dir/siem.position" 2>/dev/null || echo 0)" -lt "$last" ]; do
            kill -0 "$PID" 2>/dev/null || die "the gateway stopped during the SIEM catch-up"
            sleep 0.2
        done
        local siem_s; siem_s=$(calc "$(date +%s.%N) - $t0" 1)
        fig year.siem_s "$siem_s"
        fig year.siem_rate "$(calc "($last - $from) / $siem_s" 0)"
        say "[$name] SIEM caught up on $((last - from)) events in $siem_s s (${FIG[year.siem_rate]} events/s, including the start)"
    fi

    # RSS after many logins, and after the load.
    say "[$name] $RSS_LOGINS logins for the memory figure (TOTP steps cap this at $PEOPLE users per 30 s)"
    next_step
    load many "$dir" --mode pap-totp --concurrency "$CONCURRENCY" --requests "$RSS_LOGINS" --duration 86400
    fig "$name.rss_logins" "$(rss_mib "$PID")"
    sleep 15
    fig "$name.rss_after" "$(rss_mib "$PID")"
    # SQLite: the connections the burst opened are closed at 30 s of age, what they held
    # given back some 10 s later (jemalloc's decay).
    sleep 45
    fig "$name.rss_after_60" "$(rss_mib "$PID")"
    say "[$name] server RSS after $RSS_LOGINS logins ${FIG[$name.rss_logins]} MiB, 15 s later ${FIG[$name.rss_after]} MiB, 60 s later ${FIG[$name.rss_after_60]} MiB"
    stop
}

phase empty 0
phase year "$EVENTS"

# --- the table ----------------------------------------------------------------------------
row() { printf '%-58s %16s %16s   %s\n' "$1" "${FIG[empty.$2]:--}" "${FIG[year.$2]:--}" "$3"; }
echo
echo "Figures: $DB, $CORES cores, hashing_threads $HASH_THREADS, $(date -u +%Y-%m-%dT%H:%MZ); EMPTY = people and devices only, YEAR = $EVENTS events"
printf '%-58s %16s %16s   %s\n' "" "empty" "year" "goal"
row "RADIUS password+TOTP logins/s" logins ""
row "  raw argon2id verifies/s ($HASH_THREADS threads), before-after" argon_range ""
row "  raw argon2id verifies/s, their mean" argon_all ""
row "  logins / argon2id" ratio ">= 0.90"
row "server CPU ms per accepted login" cpu_ms ""
row "  one argon2id verify, ms (1 thread, before/after mean)" argon_ms ""
row "  / one argon2id verify" cpu_x "<= 1.05x"
row "  one verify among $HASH_THREADS at once, ms (the mean rate's)" argon_ms_all ""
row "  / that verify" cpu_x_all ""
row "login p99 ms" login_p99 ""
row "auditor page p95 ms: search by person" page_person "< 200"
row "  organisation + week" page_org_week "< 200"
row "  per-day chart (and most failures) for a year" page_chart_year "< 200"
row "  default page (last 30 days)" page_default_30_days "< 200"
row "CSV export events (streamed)" export_csv_events ""
row "  events/s" export_csv_rate ""
row "  server RSS growth MiB" export_csv_rss "< 50"
row "JSON-lines export events/s" export_jsonl_rate ""
row "  server RSS growth MiB" export_jsonl_rss "< 50"
row "audit verify s" verify_s ""
row "  events/s" verify_rate ""
row "audit verify --from-checkpoint s" verify_cp_s "seconds"
row "purge: rows redacted" purged ""
row "  rows/s" purge_rate ""
row "  login p99 ms, paced, without the purge" p99_paced ""
row "  login p99 ms, paced, during the purge" p99_purging ""
row "  during / without" p99_x "<= 2x"
row "SIEM catch-up s" siem_s ""
row "  events/s" siem_rate ""
row "server RSS MiB idle" rss_idle "<= 30"
row "  during the export" rss_export "<= 120"
row "  after $RSS_LOGINS logins" rss_logins "<= 120"
row "  15 s after the load" rss_after ""
row "  60 s after the load" rss_after_60 "near idle"
row "database MiB per million events" db_mib_per_m ""
row "  audit table + indexes (PostgreSQL)" audit_mib_per_m ""
row "year generated in s" year_s "minutes"
