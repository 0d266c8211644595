#!/usr/bin/env bash
# One-time setup of a Cloudflare account for attio-sfdc:
#   creates the D1 database, the KV namespace and the three queues, writes their ids into
#   wrangler.toml (replacing the placeholders), applies the D1 migrations, and asks for each secret.
# Safe to run again: resources whose id is already in wrangler.toml are left alone.
# Needs `npx wrangler login` (or CLOUDFLARE_API_TOKEN) first.
set -euo pipefail
cd "$(dirname "$0")/.."
export WRANGLER_SEND_METRICS=false
wrangler() { npx --no-install wrangler "$@"; }

placeholder_d1="00000000-0000-0000-0000-000000000000"
placeholder_kv="00000000000000000000000000000000"

if grep -q "database_id = \"$placeholder_d1\"" wrangler.toml; then
  echo "Creating D1 database attio-sfdc..."
  out=$(wrangler d1 create attio-sfdc 2>&1) || { echo "$out"; exit 1; }
  id=$(grep -oE '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}' <<<"$out" | head -n 1)
  [ -n "$id" ] || { echo "Could not read the database id from:"; echo "$out"; exit 1; }
  sed -i.bak "s/$placeholder_d1/$id/" wrangler.toml && rm -f wrangler.toml.bak
  echo "  database_id = $id"
fi

if grep -q "id = \"$placeholder_kv\"" wrangler.toml; then
  echo "Creating KV namespace CURSORS..."
  out=$(wrangler kv namespace create CURSORS 2>&1) || { echo "$out"; exit 1; }
  id=$(grep -oE '\b[0-9a-f]{32}\b' <<<"$out" | head -n 1)
  [ -n "$id" ] || { echo "Could not read the namespace id from:"; echo "$out"; exit 1; }
  sed -i.bak "s/$placeholder_kv/$id/" wrangler.toml && rm -f wrangler.toml.bak
  echo "  id = $id"
fi

for queue in attio-sfdc-sync attio-sfdc-jobs attio-sfdc-sync-dlq; do
  if wrangler queues info "$queue" >/dev/null 2>&1; then
    echo "Queue $queue exists."
  else
    echo "Creating queue $queue..."
    wrangler queues create "$queue"
  fi
done

echo "Applying D1 migrations..."
wrangler d1 migrations apply DB --remote

for secret in ATTIO_API_KEY ATTIO_WEBHOOK_SECRET SALESFORCE_CLIENT_ID SALESFORCE_CLIENT_SECRET; do
  if wrangler secret list 2>/dev/null | grep -q "\"$secret\""; then
    echo "Secret $secret is set."
  else
    echo "Enter $secret (input is hidden):"
    wrangler secret put "$secret"
  fi
done

# Tokens we choose ourselves are generated: 64 hex characters (the Worker and the relay need 32+).
for secret in RELAY_SECRET ADMIN_TOKEN; do
  if wrangler secret list 2>/dev/null | grep -q "\"$secret\""; then
    echo "Secret $secret is set."
  else
    value=$(openssl rand -hex 32)
    printf '%s' "$value" | wrangler secret put "$secret"
    echo "Generated $secret: $value"
    echo "  (keep it: the CDC relay needs RELAY_SECRET, API clients need ADMIN_TOKEN)"
  fi
done

echo
echo "Done. Set SALESFORCE_LOGIN_URL in wrangler.toml to your org's My Domain URL, then run: npx wrangler deploy"
