import { z } from "zod";
import type { WorkspaceMember } from "./schema-attio.ts";
import type { UserLookup } from "./transforms.ts";

/** The User fields needed to match owners (`SELECT Id, Email, IsActive FROM User`). */
export const SalesforceUserSchema = z.object({
  Id: z.string(),
  Email: z.string().nullable(),
  IsActive: z.boolean().optional(),
});
export type SalesforceUser = z.infer<typeof SalesforceUserSchema>;

export interface UserDirectory extends UserLookup {
  /** Members with no Salesforce User of the same email (their deals get no OwnerId from us). */
  unmatchedMembers: string[];
  unmatchedUsers: string[];
}

/**
 * Matches workspace members to Salesforce Users by email, case-insensitively. Users are read-only:
 * none are created. When several Users share an email, an active one is preferred.
 */
export function matchUsers(members: readonly WorkspaceMember[], users: readonly SalesforceUser[]): UserDirectory {
  const userByEmail = new Map<string, SalesforceUser>();
  for (const user of users) {
    const email = user.Email?.trim().toLowerCase();
    if (!email) continue;
    const existing = userByEmail.get(email);
    if (!existing || (existing.IsActive === false && user.IsActive !== false)) userByEmail.set(email, user);
  }
  const toUser = new Map<string, string>();
  const toMember = new Map<string, string>();
  const unmatchedMembers: string[] = [];
  for (const member of members) {
    const user = userByEmail.get(member.email_address.trim().toLowerCase());
    const memberId = member.id.workspace_member_id;
    if (!user) {
      unmatchedMembers.push(memberId);
      continue;
    }
    toUser.set(memberId, user.Id);
    toMember.set(user.Id, memberId);
  }
  return {
    salesforceUserFor: (memberId) => toUser.get(memberId),
    workspaceMemberFor: (userId) => toMember.get(userId),
    unmatchedMembers,
    unmatchedUsers: users.filter((u) => !toMember.has(u.Id)).map((u) => u.Id),
  };
}
