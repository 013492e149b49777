# Shared by the bench scripts (sourced): messages, figures, and editing a gateway.toml made
# by `mfa-gateway init`.

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
# The value of KEY in a radius-load --summary FILE.
get() { sed -n "s/^$2=//p" "$1" 2>/dev/null | head -n 1; }
# An awk expression, printed with N decimals (default 1).
calc() { awk "BEGIN { v = $1; printf \"%.${2:-1}f\", v }" 2>/dev/null || echo n/a; }

# toml_set FILE SECTION KEY VALUE [SECTION KEY VALUE]...: in FILE (as `init` writes it: one
# `key = value` per line), set KEY in [SECTION] to VALUE (TOML, e.g. '"warn"' or '[]'). A KEY
# ending in `*` sets every key of that section that starts with what comes before it. Fails
# when a KEY is not there.
toml_set() {
    local file=$1 spec="" n=0
    shift
    while [ $# -ge 3 ]; do
        spec+="$1"$'\037'"$2"$'\037'"$3"$'\037'
        n=$((n + 1))
        shift 3
    done
    awk -v spec="$spec" -v n="$n" '
        BEGIN { split(spec, a, "\037"); for (i = 0; i < n; i++) { sec[i] = a[3*i+1]; key[i] = a[3*i+2]; val[i] = a[3*i+3]; hit[i] = 0 } }
        /^\[/ { section = $0 }
        {
            for (i = 0; i < n; i++) {
                if (section != "[" sec[i] "]") continue
                k = key[i]
                if (substr(k, length(k)) == "*") { ok = index($0, substr(k, 1, length(k) - 1)) == 1 && index($0, " = ") > 0 }
                else { ok = index($0, k " = ") == 1 }
                if (ok) { sub(/ = .*/, " = " val[i]); hit[i] = 1; break }
            }
            print
        }
        END { for (i = 0; i < n; i++) if (!hit[i]) { print "toml_set: no " key[i] " in [" sec[i] "]" > "/dev/stderr"; exit 1 } }
    ' "$file" > "$file.new" && mv "$file.new" "$file" || { rm -f "$file.new"; return 1; }
}

# bench_toml FILE STORE_URL RADIUS_PORT HTTP_PORT HASHING_THREADS SECRET: a gateway.toml made
# by `init` set up for a load on loopback: the store, RADIUS and plain HTTP on 127.0.0.1, log
# level warn, the hashing threads, no rate limits, and a RADIUS client "bench" (127.0.0.1,
# SECRET).
bench_toml() {
    local file=$1 url=$2 port=$3 http_port=$4 threads=$5 secret=$6
    toml_set "$file" \
        store url "\"$url\"" \
        radius listen "[\"127.0.0.1:$port\"]" \
        http listen "[\"127.0.0.1:$http_port\"]" \
        http tls false \
        log level '"warn"' \
        password hashing_threads "$threads" \
        rate_limit 'per_*' 0 || return 1
    cat >> "$file" <<EOT

[[radius.clients]]
name = "bench"
address = "127.0.0.1/32"
secret = "$secret"
mode = "append"
EOT
}

# release_binaries [MORE...]: build the release binaries (unless BENCH_NO_BUILD is set) and
# check that target/release/{mfa-gateway,radius-load,year} and MORE are there. Sets GW, LOAD,
# YEAR. BENCH_GW=BINARY runs another gateway build instead of target/release/mfa-gateway
# (with BENCH_OTHER: an A/B with the two builds' places swapped).
release_binaries() {
    GW=${BENCH_GW:-target/release/mfa-gateway} LOAD=target/release/radius-load YEAR=target/release/year
    if [ -z "${BENCH_NO_BUILD:-}" ]; then
        say "building (release): mfa-gateway, mfa-bench"
        cargo build --release -q -p mfa-gateway -p mfa-bench
    fi
    local b
    for b in "$GW" "$LOAD" "$YEAR" "$@"; do
        [ -x "$b" ] || die "$b missing: cargo build --release -p mfa-gateway -p mfa-bench"
    done
}

# year_gateway DIR RADIUS_PORT HTTP_PORT SECRET EVENTS [STORE_URL]: in DIR, a gateway of
# 10,000 people in 300 organisations with 30,000 devices and EVENTS audit events
# (bench/year.sh's data set), set up by bench_toml, on SQLite in DIR unless STORE_URL names
# another store (a PostgreSQL schema of its own: pg_schema_url); the people's logins in
# DIR/users-many.txt (all but the demo person).
year_gateway() {
    local dir=$1 port=$2 http_port=$3 secret=$4 events=$5 url=${6:-sqlite://mfa-gateway.db}
    "$GW" --config "$dir/gateway.toml" init > "$dir/init.txt"
    bench_toml "$dir/gateway.toml" "$url" "$port" "$http_port" 0 "$secret" \
        || die "editing $dir/gateway.toml failed"
    rm -f "$dir/mfa-gateway.db"
    "$YEAR" --config "$dir/gateway.toml" --orgs 300 --people 10000 --devices 30000 \
        --events "$events" --end "$(date +%s)" --users-file "$dir/users.txt" \
        > "$dir/year.txt" 2> "$dir/year.err" || { cat "$dir/year.err" >&2; die "year failed"; }
    tail -n +2 "$dir/users.txt" > "$dir/users-many.txt"
}

# db_choice SCRIPT [sqlite | postgres [URL]]: the database a script runs on, from its
# arguments; sets DB and PG_URL (default postgres://postgres@127.0.0.1:5432/test), and
# checks that psql is there for PostgreSQL.
db_choice() {
    local script=$1
    DB=${2:-sqlite}
    PG_URL=${3:-postgres://postgres@127.0.0.1:5432/test}
    case "$DB" in sqlite | postgres) ;; *) die "usage: bench/$script [sqlite | postgres [URL]]" ;; esac
    [ "$DB" = sqlite ] || command -v psql > /dev/null || die "psql missing: apt-get install postgresql-client"
}

# pg_schema_url PG_URL SCHEMA: (re)create SCHEMA in PG_URL's database, empty, and print a
# store URL whose connections use it (search_path).
pg_schema_url() {
    local pg=$1 schema=$2 sep='?'
    PGOPTIONS="-c client_min_messages=warning" psql "$pg" -qc "DROP SCHEMA IF EXISTS $schema CASCADE; CREATE SCHEMA $schema" >/dev/null \
        || die "psql $pg: could not create schema $schema (is PostgreSQL running?)"
    [[ "$pg" == *'?'* ]] && sep='&'
    printf '%s%soptions=-c%%20search_path%%3D%s' "$pg" "$sep" "$schema"
}

# serve DIR BINARY: start BINARY serving DIR/gateway.toml (with BENCH_SERVER_ENV, a list of
# NAME=VALUE words, in its environment) and wait until it is ready. Sets PID.
serve() {
    local dir=$1 bin=$2
    # shellcheck disable=SC2086 # BENCH_SERVER_ENV is a list of NAME=VALUE words
    env ${BENCH_SERVER_ENV:-} "$bin" --config "$dir/gateway.toml" serve > "$dir/serve.out" 2> "$dir/serve.err" &
    PID=$!
    for _ in $(seq 1 300); do
        grep -q "mfa-gateway ready" "$dir/serve.out" 2>/dev/null && return 0
        kill -0 "$PID" 2>/dev/null || { cat "$dir/serve.err" >&2; die "the gateway did not start"; }
        sleep 0.1
    done
    die "the gateway was not ready in 30 s ($dir/serve.err)"
}
