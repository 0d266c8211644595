import { SyncError } from "../../src/lib/errors.ts";
import { type ConfigProblem, loadRelayConfig, type RelayConfig } from "./config.ts";
import { startRelay } from "./relay.ts";

/**
 * `npm run relay`: Salesforce change events (Pub/Sub API) -> the Worker's /webhooks/salesforce.
 * Exit codes: 0 after a clean shutdown (SIGTERM/SIGINT), 2 for a configuration error, 1 for any
 * other unrecoverable error. Messages never contain secret values.
 */
let config: RelayConfig;
try {
  config = loadRelayConfig(process.env);
} catch (err) {
  // One line per bad setting, so each reads alone in journalctl or a container log.
  const problems = (err instanceof SyncError ? err.detail["problems"] : undefined) as ConfigProblem[] | undefined;
  if (problems === undefined) process.stderr.write(`attio-sfdc relay: ${String(err)}\n`);
  else {
    process.stderr.write(`attio-sfdc relay: invalid configuration, ${problems.length} setting(s) to fix:\n`);
    for (const { variable, problem } of problems) process.stderr.write(`attio-sfdc relay: ${variable}: ${problem}\n`);
  }
  process.stderr.write("See docs/RELAY.md#configuration for every variable.\n");
  process.exit(2);
}

try {
  const relay = await startRelay(config);
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) process.exit(1);
    process.stderr.write(`attio-sfdc relay: ${signal} received, delivering what is buffered (up to 10 s)\n`);
    void relay.stop(10_000);
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  await relay.done;
  process.exit(0);
} catch (err) {
  const code = err instanceof SyncError ? err.code : "internal";
  process.stderr.write(`attio-sfdc relay stopped (${code}): ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(code === "config_invalid" ? 2 : 1);
}
