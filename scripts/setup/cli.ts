import { resolve } from "node:path";
import { SetupError } from "./execute.ts";
import { terminalPrompt } from "./prompt.ts";
import { runSetup } from "./run.ts";
import { wranglerRunner } from "./runner.ts";

const root = resolve(import.meta.dirname, "../..");
const interactive = process.stdin.isTTY === true;
try {
  await runSetup(process.argv.slice(2), process.env, {
    run: wranglerRunner(root),
    root,
    log: (line) => console.log(line),
    ...(interactive ? { prompt: terminalPrompt() } : {}),
  });
} catch (error) {
  console.error(error instanceof SetupError ? error.message : error);
  process.exitCode = 1;
}
