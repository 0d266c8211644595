import { z } from "zod";
import { WorkspaceMemberSchema } from "../attio/attribute-schema.ts";
import { type DirectoryOptions, matchUsers, SalesforceUserSchema, type UserDirectory } from "../mapping/users.ts";
import type { SyncDeps } from "./deps.ts";

/**
 * The owner directory: Attio workspace members and active Salesforce Users, matched by email
 * (mapping/users.ts). Read from both APIs at most every DIRECTORY_TTL_SECONDS (KV `directory:owners`),
 * and kept in the isolate for a minute so a busy queue does not read KV for every batch.
 */
export const DIRECTORY_KEY = "directory:owners";
export const DIRECTORY_TTL_SECONDS = 900;
const MEMO_MS = 60_000;

const StoredDirectory = z.object({
  members: z.array(WorkspaceMemberSchema),
  users: z.array(SalesforceUserSchema),
  at: z.string(),
});
type Stored = z.infer<typeof StoredDirectory>;

let memo: { key: string; until: number; directory: UserDirectory } | undefined;

/**
 * The directory for this configuration. Throws (retryably) when either API cannot answer: records
 * synced without it would lose their owner or, in Attio where a deal needs one, fail.
 */
export async function loadDirectory(
  deps: Pick<SyncDeps, "attio" | "salesforce">,
  kv: KVNamespace,
  options: DirectoryOptions,
  now = Date.now(),
): Promise<UserDirectory> {
  const key = JSON.stringify(options);
  if (memo && memo.key === key && memo.until > now) return memo.directory;
  const stored = StoredDirectory.safeParse(await kv.get(DIRECTORY_KEY, "json"));
  let data: Stored;
  if (stored.success) {
    data = stored.data;
  } else {
    const [members, users] = await Promise.all([deps.attio.listWorkspaceMembers(), deps.salesforce.activeUsers()]);
    data = { members, users: users.map((u) => SalesforceUserSchema.parse(u)), at: new Date(now).toISOString() };
    await kv.put(DIRECTORY_KEY, JSON.stringify(data), { expirationTtl: DIRECTORY_TTL_SECONDS });
  }
  const directory = matchUsers(data.members, data.users, options);
  memo = { key, until: now + MEMO_MS, directory };
  return directory;
}
