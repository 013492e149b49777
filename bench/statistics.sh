#!/usr/bin/env bash
# SQLite's planner statistics on a year (issue 17): bench/src/bin/statistics.rs on a year of
# BENCH_EVENTS audit events (bench/year.sh's data set). The statistics job analyses the audit
# table again (its statistics removed first, as when it has grown ten-fold): how long that
# takes with the job's bounded sample, against the whole-table statement it ran before, and
# how long a write (each login writes) waits for the lock meanwhile. In turns, BENCH_RUNS
# times.
#
#   bash bench/statistics.sh
#
# Knobs: BENCH_EVENTS (15000000), BENCH_RUNS (2), BENCH_NO_BUILD=1.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

EVENTS=${BENCH_EVENTS:-15000000}
release_binaries target/release/statistics
D=$(mktemp -d "${TMPDIR:-/tmp}/mfa-statistics.XXXXXX")
trap 'rm -rf "$D"' EXIT
say "a SQLite gateway of 10,000 people with $EVENTS audit events in $D"
year_gateway "$D" 18950 18951 "bench-statistics-$(date +%s)" "$EVENTS"
sed 's/^/    /' "$D/year.txt"
target/release/statistics --db "$D/mfa-gateway.db" --runs "${BENCH_RUNS:-2}"
