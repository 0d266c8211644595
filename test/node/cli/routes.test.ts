import { describe, expect, it, vi } from "vitest";
import { parseArgs } from "../../../scripts/cli/args.ts";
import { COMMANDS } from "../../../scripts/cli/commands.ts";
import { fillPath } from "../../../scripts/cli/requests.ts";
import { createApiV1, OPENAPI_INFO } from "../../../src/http/api/index.ts";

// The route modules reach the Durable Objects' module, which only workerd provides; the document
// is built from the routes' zod schemas and never touches a Durable Object.
vi.mock("cloudflare:workers", () => ({ DurableObject: class {} }));

interface Parameter {
  name: string;
  in: string;
  required?: boolean;
}
interface Operation {
  parameters?: Parameter[];
  requestBody?: { required?: boolean; content: Record<string, { schema: { $ref?: string } }> };
}

const doc = createApiV1().getOpenAPI31Document(OPENAPI_INFO);
const paths = doc.paths as Record<string, Record<string, Operation>>;
const schemas = (doc.components?.schemas ?? {}) as Record<string, { properties?: Record<string, unknown> }>;

type Schema = { $ref?: string; properties?: Record<string, unknown>; anyOf?: Schema[]; oneOf?: Schema[] };

/** The properties a body schema allows: its own, its component's, or any of a union's members'. */
function properties(schema: Schema | undefined): string[] | undefined {
  const resolved = schema?.$ref ? (schemas[schema.$ref.replace("#/components/schemas/", "")] as Schema) : schema;
  if (resolved?.properties) return Object.keys(resolved.properties);
  const members = resolved?.anyOf ?? resolved?.oneOf;
  return members ? members.flatMap((member) => properties(member) ?? []) : undefined;
}

function bodyProperties(operation: Operation): string[] | undefined {
  return properties(operation.requestBody?.content["application/json"]?.schema as Schema | undefined);
}

/** The command's call for its documented example (what docs/CLI.md and --help show). */
async function exampleRequest(command: (typeof COMMANDS)[number]) {
  const words = command.example.split(" ").slice(command.name.split(" ").length);
  return command.request(parseArgs(words, command.flags), { readText: async () => 'sync_direction = "both"\n' });
}

describe("every CLI command calls a route of the management API", () => {
  it.each(COMMANDS.map((c) => [c.name, c] as const))("%s", async (_, command) => {
    const operation = paths[command.route.path]?.[command.route.method];
    expect(operation, `${command.route.method.toUpperCase()} ${command.route.path} is not in the API`).toBeDefined();
    if (!operation) return;
    const parameters = operation.parameters ?? [];
    const request = await exampleRequest(command);

    // Path parameters: exactly the route's, all filled in.
    const documented = parameters.filter((p) => p.in === "path").map((p) => p.name);
    expect(Object.keys(request.params).sort()).toEqual(documented.sort());
    expect(fillPath(command.route.path, request.params)).not.toMatch(/[{}]/);

    // Query parameters: only documented ones, every required one.
    const query = parameters.filter((p) => p.in === "query");
    const sent = Object.keys(request.query ?? {});
    expect(sent.filter((name) => !query.some((p) => p.name === name))).toEqual([]);
    expect(query.filter((p) => p.required && !sent.includes(p.name)).map((p) => p.name)).toEqual([]);

    // A body exactly when the route requires one, with only the properties it allows.
    expect(request.body !== undefined).toBe(operation.requestBody?.required === true);
    if (request.body !== undefined) {
      const allowed = bodyProperties(operation);
      expect(allowed).toBeDefined();
      expect(Object.keys(request.body as object).filter((key) => !allowed?.includes(key))).toEqual([]);
    }
  });

  it("has one command per name, and sync's flags fill every property of the job request", async () => {
    const names = COMMANDS.map((c) => c.name);
    expect(new Set(names).size).toBe(names.length);
    const sync = COMMANDS.find((c) => c.name === "sync");
    const operation = sync && paths[sync.route.path]?.[sync.route.method];
    if (!sync || !operation) throw new Error("no sync command or route");
    const words = ["--mode", "records", "--direction", "both", "--objects", "people", "--attio", "a1"];
    const request = await sync.request(
      parseArgs([...words, "--salesforce", "003x", "--since", "2026-01-01T00:00:00Z", "--dry-run"], sync.flags),
      { readText: async () => "" },
    );
    expect(Object.keys(request.body as object).sort()).toEqual(bodyProperties(operation)?.sort());
  });
});
