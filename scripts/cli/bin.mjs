#!/usr/bin/env node
// `npx attio-sfdc <command>` (package.json "bin") and `npm run cli -- <command>`. Node >= 22.18 runs
// the TypeScript modules as they are (type stripping); an older Node goes through tsx.
import { readFile } from "node:fs/promises";

if (!process.features.typescript) {
  const { register } = await import("tsx/esm/api");
  register();
}
const { main } = await import("./main.ts");

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

process.exitCode = await main(process.argv.slice(2), process.env, {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  readText: (path) => (path === "-" ? readStdin() : readFile(path, "utf8")),
});
