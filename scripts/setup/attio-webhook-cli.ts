import { resolve } from "node:path";
import { runAttioWebhook } from "./attio-webhook.ts";
import { SetupError } from "./execute.ts";
import { wranglerRunner } from "./runner.ts";

const root = resolve(import.meta.dirname, "../..");
try {
  const ok = await runAttioWebhook(process.argv.slice(2), process.env, {
    run: wranglerRunner(root),
    root,
    log: (line) => console.log(line),
  });
  if (!ok) process.exitCode = 1;
} catch (error) {
  console.error(error instanceof SetupError ? error.message : error);
  process.exitCode = 1;
}
