import { parseArgs } from "node:util";
import { startAttioEmulator } from "./attio/server.ts";
import { startSalesforceEmulator } from "./salesforce/server.ts";
import { postJson as post, resolvePorts, SANDBOX_RELAY_SECRET } from "./shared/local.ts";

/**
 * `npm run sandbox`: both emulators on 127.0.0.1 until Ctrl-C.
 * `npm run sandbox -- edit attio people <record_id> job_title="CTO"`: an edit as a person in the app.
 * `npm run sandbox -- edit salesforce Contact <Id> Title="CTO"`: an edit as a user in Lightning.
 * The default ports are those of `npm start`, so edits reach the running sandbox.
 */

const USAGE = `usage:
  npm run sandbox [-- --attio-port N --salesforce-port N --seed N --empty --relay-url URL]
  npm run sandbox -- edit attio <object> [<record_id>] slug=value ...
  npm run sandbox -- edit salesforce <SObject> [<Id>] Field=Value ...
Values are parsed as JSON when they can be (numbers, true, ["a","b"]), else taken as text.
Without an id, edit creates a record. Edits go to the ports of \`npm start\` (8788, 8789) unless
--attio-port/--salesforce-port or SANDBOX_ATTIO_PORT/SANDBOX_SALESFORCE_PORT say otherwise.`;

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      "attio-port": { type: "string" },
      "salesforce-port": { type: "string" },
      seed: { type: "string" },
      empty: { type: "boolean", default: false },
      "relay-url": { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const { attio: attioPort, salesforce: salesforcePort } = resolvePorts({
    attio: values["attio-port"],
    salesforce: values["salesforce-port"],
  });
  if (positionals[0] === "edit") {
    await edit(positionals.slice(1), attioPort, salesforcePort);
    return;
  }
  if (positionals.length > 0) throw new Error(USAGE);
  const seed = Number(values.seed ?? process.env["SANDBOX_SEED"] ?? 1);
  const relayUrl = values["relay-url"] ?? process.env["SANDBOX_RELAY_URL"];
  const relaySecret = process.env.RELAY_SECRET ?? SANDBOX_RELAY_SECRET;
  const attio = await startAttioEmulator({ port: attioPort, seed });
  const salesforce = await startSalesforceEmulator({
    port: salesforcePort,
    seed,
    ...(relayUrl ? { relay: { url: relayUrl, secret: relaySecret } } : {}),
  });
  if (!values.empty) {
    await post(`${attio.url}/__control/seed`, { dataset: "sample" });
    await post(`${salesforce.url}/__control/seed`, { dataset: "sample" });
  }
  console.log(`Attio emulator       ${attio.url}/v2   (control: ${attio.url}/__control/state)
Salesforce emulator  ${salesforce.url}  (control: ${salesforce.url}/__control/state)

Worker settings (.dev.vars):
  ATTIO_API_URL=${attio.url}
  ATTIO_API_KEY=${attio.apiKey}
  SALESFORCE_LOGIN_URL=${salesforce.url}
  SALESFORCE_CLIENT_ID=${salesforce.clientId}
  SALESFORCE_CLIENT_SECRET=${salesforce.clientSecret}
  RELAY_SECRET=${relaySecret}
ATTIO_WEBHOOK_SECRET is returned by POST ${attio.url}/v2/webhooks when the Worker is registered.
Change events go to ${relayUrl ?? "(no relay target: set --relay-url or PUT /__control/config {relay})"}.
Seed ${seed}${values.empty ? ", no sample data" : ", sample data loaded"}. Ctrl-C stops.`);
  const stop = async () => {
    await Promise.all([attio.close(), salesforce.close()]);
    process.exit(0);
  };
  process.once("SIGINT", () => void stop());
  process.once("SIGTERM", () => void stop());
}

async function edit(args: string[], attioPort: number, salesforcePort: number): Promise<void> {
  const [side, object, ...rest] = args;
  if ((side !== "attio" && side !== "salesforce") || !object) throw new Error(USAGE);
  const id = rest[0]?.includes("=") ? undefined : rest.shift();
  const values: Record<string, unknown> = {};
  for (const pair of rest) {
    const at = pair.indexOf("=");
    if (at <= 0) throw new Error(`expected name=value, got "${pair}"\n${USAGE}`);
    values[pair.slice(0, at)] = parseValue(pair.slice(at + 1));
  }
  const result =
    side === "attio"
      ? await post(`http://127.0.0.1:${attioPort}/__control/edit`, { object, values, ...(id ? { record_id: id } : {}) })
      : await post(`http://127.0.0.1:${salesforcePort}/__control/edit`, {
          object,
          fields: values,
          ...(id ? { id } : {}),
        });
  console.log(JSON.stringify(result, null, 2));
}

function parseValue(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error((err as Error).message);
  process.exit(1);
});
