// The relay's production entry point: `node scripts/relay/start.mjs` (the Docker image and the
// systemd unit run it). Plain JavaScript on purpose: the relay itself is TypeScript that Node runs
// by stripping the types, on by default only from Node 22.18. An older Node would stop on the first
// `.ts` import with ERR_UNKNOWN_FILE_EXTENSION or a syntax error that names neither Node nor the fix,
// so the version is checked here first, in code every Node since 14 can parse.
const MINIMUM = [22, 18];

const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
if (major < MINIMUM[0] || (major === MINIMUM[0] && minor < MINIMUM[1])) {
  process.stderr.write(
    `attio-sfdc relay: Node ${MINIMUM.join(".")} or newer is required (it runs the TypeScript sources directly); ` +
      `this is Node ${process.versions.node}. Install Node 22 LTS (docs/RELAY.md#node).\n`,
  );
  // 2, like a configuration error: restarting will not fix it (the systemd unit does not retry it).
  process.exit(2);
}

await import("./main.ts");
