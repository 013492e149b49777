#!/usr/bin/env bash
# Runs every test of the workspace. Installs or starts what the tests need first:
#   - radclient (Debian package freeradius-utils) for the RADIUS end-to-end tests;
#   - a PostgreSQL server for the store suite: the one at 127.0.0.1:5432 (database `test`,
#     trust auth, as on the project's machines) or, failing that, a throwaway one started
#     here from the installed binaries (installed with apt if missing);
#   - a Redis server for the shared-state tests: the one at 127.0.0.1:6379, or a throwaway
#     one on its own port (redis-server installed with apt if missing);
#   - chromium for the browser tests, nginx as the load balancer of the HA test, and the
#     PostgreSQL server binaries (the HA test restarts a throwaway cluster of its own);
#   - slapd and ldap-utils (OpenLDAP) for the directory tests (each starts its own server);
#   - axe-core (npm, pinned, into target/axe) for the accessibility checks of every page.
# A prerequisite that cannot be had stops the run with what to install; nothing is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '==> %s\n' "$*" >&2; }
# What to stop and remove at exit (throwaway servers), run in order.
cleanup=()
on_exit() { for c in "${cleanup[@]}"; do eval "$c"; done; }
trap on_exit EXIT
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

apt_updated=
apt_install() {
    [ "$(id -u)" = 0 ] || die "need $* but not root: install them (apt-get install $*) and run again"
    if [ -z "$apt_updated" ]; then
        apt-get update -qq >&2 || die "apt-get update failed; install $* by hand"
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2 || die "apt-get install $* failed"
}

# --- radclient -------------------------------------------------------------------------
if ! command -v radclient >/dev/null 2>&1; then
    say "installing freeradius-utils (radclient)"
    apt_install freeradius-utils
fi
command -v radclient >/dev/null 2>&1 || die "radclient not found: apt-get install freeradius-utils"

# --- Chromium (headless browser for the login-page tests) ------------------------------
have_chromium() { command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; }
if ! have_chromium; then
    say "installing chromium"
    apt_install chromium
fi
have_chromium || die "chromium not found: apt-get install chromium"

# --- nginx (the HTTPS load balancer in front of two instances, tests/e2e/ha.rs) --------
have_nginx() { command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; }
if ! have_nginx; then
    say "installing nginx"
    apt_install nginx
fi
have_nginx || die "nginx not found: apt-get install nginx"
export MFA_TEST_NGINX="$(command -v nginx || echo /usr/sbin/nginx)"

# --- OpenLDAP (slapd, ldapmodify: the directory tests start throwaway servers) ----------
have_slapd() { [ -x /usr/sbin/slapd ] && command -v ldapmodify >/dev/null 2>&1 && [ -f /usr/lib/ldap/back_mdb.la ]; }
if ! have_slapd; then
    say "installing slapd and ldap-utils"
    apt_install slapd ldap-utils
fi
have_slapd || die "slapd not found: apt-get install slapd ldap-utils"

# --- axe-core (the accessibility checks the browser tests inject into each page) --------
# Pinned; from the npm registry into target/axe (kept between runs), with Debian's npm.
axe_version=4.14.1
axe_js="$PWD/target/axe/node_modules/axe-core/axe.min.js"
if ! grep -qs "\"version\": \"$axe_version\"" "$PWD/target/axe/node_modules/axe-core/package.json"; then
    if ! command -v npm >/dev/null 2>&1; then
        say "installing npm (for axe-core)"
        apt_install npm
    fi
    say "installing axe-core $axe_version (npm)"
    mkdir -p target/axe
    npm install --prefix target/axe --no-audit --no-fund --silent "axe-core@$axe_version" >&2 \
        || die "npm install axe-core@$axe_version failed: the accessibility tests need it (npm registry)"
fi
[ -f "$axe_js" ] || die "axe-core not found at $axe_js: npm install --prefix target/axe axe-core@$axe_version"
export MFA_TEST_AXE="$axe_js"

# --- PostgreSQL ------------------------------------------------------------------------
pg_url_default="${MFA_TEST_PG_DEFAULT:-postgres://postgres@127.0.0.1:5432/test}"
pg_ok() { command -v psql >/dev/null 2>&1 && psql "$1" -Atqc 'select 1' >/dev/null 2>&1; }

if [ -z "${MFA_TEST_PG_URL:-}" ]; then
    if ! pg_ok "$pg_url_default" && ls /etc/postgresql/*/main >/dev/null 2>&1; then
        say "starting the local PostgreSQL cluster"
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main start >&2 2>/dev/null || true
        for _ in $(seq 1 20); do pg_ok "$pg_url_default" && break; sleep 0.5; done
    fi
    if pg_ok "$pg_url_default"; then
        export MFA_TEST_PG_URL="$pg_url_default"
    else
        # A throwaway server of our own, on a port of its own, removed at exit.
        if ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
            say "installing postgresql"
            apt_install postgresql
        fi
        bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
        [ -x "$bin/initdb" ] || die "PostgreSQL binaries not found: apt-get install postgresql"
        pgdir=$(mktemp -d /tmp/mfa-pg.XXXXXX)
        as_pg=()
        if [ "$(id -u)" = 0 ]; then
            id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
            chown postgres "$pgdir"
            as_pg=(runuser -u postgres --)
        fi
        port=55432
        say "starting a throwaway PostgreSQL on 127.0.0.1:$port ($pgdir)"
        "${as_pg[@]}" "$bin/initdb" -D "$pgdir/data" -A trust -U postgres >/dev/null
        "${as_pg[@]}" "$bin/pg_ctl" -D "$pgdir/data" -l "$pgdir/log" -w \
            -o "-p $port -k $pgdir -c listen_addresses=127.0.0.1" start >/dev/null
        cleanup+=('"${as_pg[@]}" "$bin/pg_ctl" -D "$pgdir/data" -m immediate stop >/dev/null 2>&1; rm -rf "$pgdir"')
        psql "postgres://postgres@127.0.0.1:$port/postgres" -qc 'CREATE DATABASE test' >/dev/null
        export MFA_TEST_PG_URL="postgres://postgres@127.0.0.1:$port/test"
    fi
fi
pg_ok "$MFA_TEST_PG_URL" || die "PostgreSQL not reachable at $MFA_TEST_PG_URL"
# The server binaries too: the HA test restarts a throwaway cluster of its own.
if ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
    say "installing postgresql"
    apt_install postgresql
fi
MFA_TEST_PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
[ -x "$MFA_TEST_PG_BIN/initdb" ] || die "PostgreSQL binaries not found: apt-get install postgresql"
export MFA_TEST_PG_BIN

# --- Redis (shared state across instances) ---------------------------------------------
redis_url_default="${MFA_TEST_REDIS_DEFAULT:-redis://127.0.0.1:6379}"
redis_ok() { command -v redis-cli >/dev/null 2>&1 && [ "$(redis-cli -u "$1" ping 2>/dev/null)" = "PONG" ]; }
if [ -z "${MFA_TEST_REDIS_URL:-}" ]; then
    if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
        say "installing redis-server"
        apt_install redis-server redis-tools
    fi
    if redis_ok "$redis_url_default"; then
        export MFA_TEST_REDIS_URL="$redis_url_default"
    else
        # A throwaway server of our own, on a port of its own, keeping nothing on disk.
        rport=56379
        rdir=$(mktemp -d /tmp/mfa-redis.XXXXXX)
        say "starting a throwaway Redis on 127.0.0.1:$rport ($rdir)"
        redis-server --port "$rport" --bind 127.0.0.1 --save "" --appendonly no \
            --dir "$rdir" --daemonize yes --pidfile "$rdir/pid" --logfile "$rdir/log" >&2 \
            || die "redis-server did not start: see $rdir/log"
        for _ in $(seq 1 20); do redis_ok "redis://127.0.0.1:$rport" && break; sleep 0.2; done
        cleanup+=("redis-cli -p $rport shutdown nosave >/dev/null 2>&1; rm -rf '$rdir'")
        export MFA_TEST_REDIS_URL="redis://127.0.0.1:$rport"
    fi
fi
redis_ok "$MFA_TEST_REDIS_URL" || die "Redis not reachable at $MFA_TEST_REDIS_URL (apt-get install redis-server)"

# --- the tests -------------------------------------------------------------------------
say "cargo test --workspace (PostgreSQL: $MFA_TEST_PG_URL, Redis: $MFA_TEST_REDIS_URL)"
cargo test --workspace --locked "$@"
