#!/usr/bin/env bash
# Holds 1,000 out-of-band approvals at once on a real gateway and reports the server's
# memory and threads (bench/src/bin/approval-hold.rs). Usage: bash bench/approval.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000}
# PROFILE=debug uses the debug build (memory per approval is about the same).
profile=${PROFILE:-release}
if [ "$profile" = release ]; then
    cargo build --release -p mfa-gateway -p mfa-bench --bins >&2
else
    cargo build -p mfa-gateway -p mfa-bench --bins >&2
fi
bin=target/$profile/mfa-gateway
dir=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
cd "$dir"
"$OLDPWD/$bin" init >/dev/null
secret=bench-shared-secret-0123
sed -i 's/^listen = \["0.0.0.0:1812"\]/listen = ["127.0.0.1:18120"]/; s/^max_in_flight = .*/max_in_flight = 4096/' gateway.toml
sed -i 's/^timeout_seconds = 50/timeout_seconds = 20/; s/^per_source_per_minute = .*/per_source_per_minute = 0/; s/^per_username_per_minute = .*/per_username_per_minute = 0/; s/^per_client_per_second = .*/per_client_per_second = 0/' gateway.toml
cat >> gateway.toml <<TOML

[[radius.clients]]
name = "rdgw"
address = "127.0.0.1/32"
secret = "$secret"
mode = "second_factor_only"
TOML
"$OLDPWD/$bin" org add Bench >/dev/null
echo "adding $n people..." >&2
for i in $(seq 0 $((n - 1))); do
    "$OLDPWD/$bin" person add "user$i" --org Bench --name "User $i" --no-password >/dev/null
done
"$OLDPWD/$bin" serve > serve.log 2>&1 &
pid=$!
for _ in $(seq 1 50); do grep -q 'mfa-gateway ready' serve.log && break; sleep 0.2; done
"$OLDPWD/target/$profile/approval-hold" --target 127.0.0.1:18120 --secret "$secret" \
    --users "$n" --server-pid "$pid" --settle 5 --wait 60
echo "prompts recorded (approval_requested events): $("$OLDPWD/$bin" audit search --kind approval_requested --limit 0 --format jsonl | wc -l)"
