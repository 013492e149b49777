#!/usr/bin/env bash
# Issue 13's figure: RADIUS logins with a directory (LDAP) password next to the argon2id path.
#
#   bash bench/directory.sh
#
# One gateway folder (SQLite, people and TOTP phones from the year generator), and a
# throwaway OpenLDAP (slapd, ldaps:// with the gateway's development CA) that lists half of
# those people with the same password ({SSHA}, as slappasswd stores it). The directory
# serves every organisation; the people it lists have no local password, the other half
# keep theirs (argon2id). One serve, two radius-load runs (password + TOTP, append mode):
#   - local passwords (argon2id on the hashing pool);
#   - directory passwords (a service search and a bind per login, on pooled connections).
# Printed: accepted logins/s, the gateway's CPU per accepted login and slapd's, and the
# ratio. The directory bind replaces the hash, so that path should reach several hundred
# logins/s on 2 cores.
# Knobs: BENCH_SECONDS (10), BENCH_PEOPLE (12000), BENCH_PROFILE (release),
# BENCH_NO_BUILD=1, BENCH_PORT (18720), BENCH_KEEP=1.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
. bench/lib.sh

SECONDS_RUN=${BENCH_SECONDS:-10}
PEOPLE=${BENCH_PEOPLE:-12000}
PORT=${BENCH_PORT:-18720}
PROFILE=${BENCH_PROFILE:-release}
CORES=$(nproc)
CONCURRENCY=$((CORES * 8))
GW=$ROOT/target/$PROFILE/mfa-gateway
LOAD=$ROOT/target/$PROFILE/radius-load
YEAR=$ROOT/target/$PROFILE/year
SLAPD=${SLAPD:-/usr/sbin/slapd}
SLAPADD=${SLAPADD:-/usr/sbin/slapadd}

if [ -z "${BENCH_NO_BUILD:-}" ]; then
    say "building ($PROFILE): mfa-gateway, mfa-bench"
    if [ "$PROFILE" = release ]; then
        cargo build --release -q -p mfa-gateway -p mfa-bench
    else
        cargo build -q -p mfa-gateway -p mfa-bench
    fi
fi
for b in "$GW" "$LOAD" "$YEAR"; do
    [ -x "$b" ] || die "$b missing: cargo build --release -p mfa-gateway -p mfa-bench"
done
[ -x "$SLAPD" ] && [ -x "$SLAPADD" ] || die "slapd not found: apt-get install slapd ldap-utils"
command -v python3 >/dev/null 2>&1 || die "python3 not found (writes the LDIF and the SQL)"

DIR=$(mktemp -d "${TMPDIR:-/tmp}/mfa-directory.XXXXXX")
GW_PID=
SLAPD_PID=
cleanup() {
    [ -n "$GW_PID" ] && { kill -TERM "$GW_PID" 2>/dev/null || true; wait "$GW_PID" 2>/dev/null || true; }
    [ -n "$SLAPD_PID" ] && { kill "$SLAPD_PID" 2>/dev/null || true; wait "$SLAPD_PID" 2>/dev/null || true; }
    if [ -n "${BENCH_KEEP:-}" ]; then say "kept $DIR"; else rm -rf "$DIR"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
SECRET=bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
# CPU seconds (utime + stime) of a process so far.
cpu_of() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.3f", ($14 + $15) / hz }' "/proc/$1/stat"; }

"$GW" --config "$DIR/gateway.toml" init > "$DIR/init.txt"
toml_set "$DIR/gateway.toml" \
    radius listen "[\"127.0.0.1:$PORT\"]" \
    http listen '[]' \
    log level '"warn"' \
    rate_limit 'per_*' 1000000 || die "editing gateway.toml failed"
rm -f "$DIR/mfa-gateway.db"
say "people and phones: $PEOPLE (year generator, 1,000 events)"
"$YEAR" --config "$DIR/gateway.toml" --orgs 10 --people "$PEOPLE" --devices "$PEOPLE" \
    --events 1000 --users-file "$DIR/users.txt" > "$DIR/year.txt" 2> "$DIR/year.err" \
    || { cat "$DIR/year.err" >&2; die "year failed"; }
n=$(($(wc -l < "$DIR/users.txt") - 1))
tail -n +2 "$DIR/users.txt" | sed -n "1,$((n / 3))p" > "$DIR/users-local.txt"
tail -n +2 "$DIR/users.txt" | sed -n "$((n / 3 + 1)),${n}p" > "$DIR/users-directory.txt"

say "slapd: $(wc -l < "$DIR/users-directory.txt") people of the directory, ldaps://"
mkdir -p "$DIR/ldap/db"
python3 - "$DIR" <<'EOF'
import base64, hashlib, os, sqlite3, sys
d = sys.argv[1]
people = [l.split() for l in open(f"{d}/users-directory.txt") if l.strip() and not l.startswith("#")]
out = open(f"{d}/ldap/people.ldif", "w")
out.write("dn: dc=bench,dc=example\nobjectClass: dcObject\nobjectClass: organization\no: Bench\ndc: bench\n\n")
out.write("dn: ou=Staff,dc=bench,dc=example\nobjectClass: organizationalUnit\nou: Staff\n\n")
out.write("dn: cn=svc-mfa,dc=bench,dc=example\nobjectClass: person\ncn: svc-mfa\nsn: svc\nuserPassword: svc-secret\n\n")
for user, password, *_ in people:
    salt = os.urandom(8)
    ssha = base64.b64encode(hashlib.sha1(password.encode() + salt).digest() + salt).decode()
    out.write(f"dn: cn={user},ou=Staff,dc=bench,dc=example\nobjectClass: inetOrgPerson\ncn: {user}\nsn: {user}\nuid: {user}\nuserPassword: {{SSHA}}{ssha}\n\n")
out.close()
db = sqlite3.connect(f"{d}/mfa-gateway.db")
names = [r[0] for r in db.execute("SELECT name FROM organisations ORDER BY id")]
db.executemany("UPDATE people SET password_hash = NULL WHERE username = ?", [(p[0],) for p in people])
db.commit()
open(f"{d}/orgs.toml", "w").write("orgs = [" + ", ".join('"%s"' % n.replace('"', '\\"') for n in names) + "]\n")
EOF
cat > "$DIR/ldap/slapd.conf" <<EOF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
pidfile $DIR/ldap/slapd.pid
argsfile $DIR/ldap/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
TLSCACertificateFile $DIR/certs/ca.pem
TLSCertificateFile $DIR/certs/server.pem
TLSCertificateKeyFile $DIR/certs/server.key
database mdb
maxsize 1073741824
suffix "dc=bench,dc=example"
rootdn "cn=admin,dc=bench,dc=example"
rootpw admin-secret
directory $DIR/ldap/db
index uid eq
access to attrs=userPassword by anonymous auth by * none
access to * by users read by * none
EOF
"$SLAPADD" -q -f "$DIR/ldap/slapd.conf" -l "$DIR/ldap/people.ldif"
LDAP_PORT=$((PORT + 1))
"$SLAPD" -h "ldaps://127.0.0.1:$LDAP_PORT/" -f "$DIR/ldap/slapd.conf" -d 0 > "$DIR/ldap/log" 2>&1 &
SLAPD_PID=$!
for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/$LDAP_PORT) 2>/dev/null && break; sleep 0.1; done
cat >> "$DIR/gateway.toml" <<EOF

[[radius.clients]]
name = "bench"
address = "127.0.0.1/32"
secret = "$SECRET"
mode = "append"

[[directories]]
name = "bench"
urls = ["ldaps://127.0.0.1:$LDAP_PORT"]
ca_file = "certs/ca.pem"
bind_dn = "cn=svc-mfa,dc=bench,dc=example"
bind_password_env = "BENCH_LDAP_PASSWORD"
base_dn = "ou=Staff,dc=bench,dc=example"
user_filter = "(&(objectClass=inetOrgPerson)(uid={username}))"
pool_size = $((CORES * 4))
$(cat "$DIR/orgs.toml")
EOF

BENCH_LDAP_PASSWORD=svc-secret "$GW" --config "$DIR/gateway.toml" serve > "$DIR/serve.out" 2> "$DIR/serve.err" &
GW_PID=$!
for _ in $(seq 1 300); do
    grep -q "mfa-gateway ready" "$DIR/serve.out" 2>/dev/null && break
    kill -0 "$GW_PID" 2>/dev/null || { cat "$DIR/serve.err" >&2; die "the gateway did not start"; }
    sleep 0.1
done
sleep 1

declare -A CPU RATE LDAPCPU
run() { # NAME
    local name=$1 s0 s1
    # Start at the beginning of a TOTP step, so no user is used twice within one.
    sleep $((30 - $(date +%s) % 30))
    s0=$(cpu_of "$SLAPD_PID")
    "$LOAD" --target "127.0.0.1:$PORT" --secret "$SECRET" --users "$DIR/users-$name.txt" \
        --mode pap-totp --concurrency "$CONCURRENCY" --duration "$SECONDS_RUN" \
        --server-pid "$GW_PID" --summary "$DIR/$name.sum" --label "$name" \
        > "$DIR/$name.txt" 2> "$DIR/$name.err" || { cat "$DIR/$name.err" >&2; die "radius-load failed"; }
    s1=$(cpu_of "$SLAPD_PID")
    sed 's/^/    /' "$DIR/$name.txt"
    local accepts cpu
    accepts=$(get "$DIR/$name.sum" accepts); cpu=$(get "$DIR/$name.sum" server_cpu_s)
    [ "${accepts:-0}" -gt 0 ] || die "[$name] no login was accepted (see $DIR/$name.txt)"
    CPU[$name]=$(calc "1000 * $cpu / $accepts" 2)
    RATE[$name]=$(get "$DIR/$name.sum" accepts_per_s)
    LDAPCPU[$name]=$(calc "1000 * ($s1 - $s0) / $accepts" 2)
    say "[$name] $accepts accepted, ${RATE[$name]}/s, gateway CPU ${CPU[$name]} ms per login, slapd ${LDAPCPU[$name]} ms"
}

say "local passwords (argon2id), $SECONDS_RUN s, concurrency $CONCURRENCY, $CORES cores"
run local
say "directory passwords (search + bind on slapd), the same"
run directory
echo
echo "figure                               argon2id      directory"
printf '%-36s %-13s %s\n' "accepted logins/s" "${RATE[local]}" "${RATE[directory]}"
printf '%-36s %-13s %s\n' "gateway CPU per login (ms)" "${CPU[local]}" "${CPU[directory]}"
printf '%-36s %-13s %s\n' "slapd CPU per login (ms)" "${LDAPCPU[local]}" "${LDAPCPU[directory]}"
echo "directory / argon2id logins/s: $(calc "${RATE[directory]} / ${RATE[local]}" 2)x (goal: several hundred logins/s on 2 cores)"
