import { resolve } from "node:path";
import { SetupError } from "./execute.ts";
import { wranglerRunner } from "./runner.ts";
import { runUpgrade } from "./upgrade.ts";

const root = resolve(import.meta.dirname, "../..");
try {
  await runUpgrade(process.argv.slice(2), { run: wranglerRunner(root), root, log: (line) => console.log(line) });
} catch (error) {
  console.error(error instanceof SetupError ? error.message : error);
  process.exitCode = 1;
}
