#!/usr/bin/env bash
# One-time setup of a Cloudflare account for attio-sfdc:
#   creates the D1 database, the KV namespace and the three queues, writes their ids into
#   wrangler.toml (replacing the placeholders), applies the D1 migrations, and asks for each secret.
# Optionally creates the External ID field Attio_Record_Id__c with the Salesforce CLI (sf).
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

# Optional: the External ID field that makes creates from Attio upserts keyed by the Attio record id,
# so a retried create can never make a second record (docs/SYNC_SEMANTICS.md, "Idempotent creates").
# The Worker finds it by describe (within the hour its capabilities are cached).
record_id_field="Attio_Record_Id__c"
record_id_objects=(Account Contact Opportunity)
create_record_id_field() {
  local org=$1 dir
  dir=$(mktemp -d)
  mkdir -p "$dir/objects" "$dir/permissionsets"
  local members="" permissions=""
  for object in "${record_id_objects[@]}"; do
    cat >"$dir/objects/$object.object" <<XML
<?xml version="1.0" encoding="UTF-8"?>
<CustomObject xmlns="http://soap.sforce.com/2006/04/metadata">
    <fields>
        <fullName>$record_id_field</fullName>
        <label>Attio Record Id</label>
        <type>Text</type>
        <length>36</length>
        <externalId>true</externalId>
        <unique>true</unique>
        <caseSensitive>false</caseSensitive>
        <required>false</required>
    </fields>
</CustomObject>
XML
    members+="        <members>$object.$record_id_field</members>"$'\n'
    permissions+="    <fieldPermissions><editable>true</editable><field>$object.$record_id_field</field><readable>true</readable></fieldPermissions>"$'\n'
  done
  cat >"$dir/permissionsets/Attio_Sync_Record_Id.permissionset" <<XML
<?xml version="1.0" encoding="UTF-8"?>
<PermissionSet xmlns="http://soap.sforce.com/2006/04/metadata">
    <label>Attio Sync Record Id</label>
$permissions</PermissionSet>
XML
  cat >"$dir/package.xml" <<XML
<?xml version="1.0" encoding="UTF-8"?>
<Package xmlns="http://soap.sforce.com/2006/04/metadata">
    <types>
$members        <name>CustomField</name>
    </types>
    <types>
        <members>Attio_Sync_Record_Id</members>
        <name>PermissionSet</name>
    </types>
    <version>62.0</version>
</Package>
XML
  sf project deploy start --metadata-dir "$dir" --target-org "$org" --wait 10
  rm -rf "$dir"
  echo "Created $record_id_field on ${record_id_objects[*]} and the permission set Attio_Sync_Record_Id."
  echo "Assign it to the integration user (the connected app's Run As user):"
  echo "  sf org assign permset --name Attio_Sync_Record_Id --on-behalf-of <username> --target-org $org"
}

if [ -t 0 ] && command -v sf >/dev/null 2>&1; then
  read -r -p "Create the External ID field $record_id_field on ${record_id_objects[*]} with the Salesforce CLI? [y/N] " answer
  if [[ "$answer" =~ ^[Yy] ]]; then
    read -r -p "Target org (an alias or username the Salesforce CLI is logged in to): " org
    create_record_id_field "$org"
  fi
else
  echo "Optional: create a Text(36) External ID, unique field $record_id_field on ${record_id_objects[*]}"
  echo "(Setup > Object Manager, or install the Salesforce CLI 'sf' and run this script again),"
  echo "and give the integration user edit access to it: creates then become idempotent upserts."
fi

echo
echo "Done. Set SALESFORCE_LOGIN_URL in wrangler.toml to your org's My Domain URL, then run: npx wrangler deploy"
