import { z } from "zod";
import type { WorkspaceMember } from "../attio/attribute-schema.ts";
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
  /** Why there is no default member, when there is none (shown as a mapping problem). */
  defaultMemberProblem?: string | undefined;
}

export interface DirectoryOptions {
  /** `[mappings.users] default_owner_email`; unset: the workspace's first admin. */
  defaultOwnerEmail?: string | undefined;
}

const emailKey = (email: string | null | undefined) => email?.trim().toLowerCase() || undefined;

/**
 * Matches workspace members to Salesforce Users by email, case-insensitively. Users are read-only:
 * none are created. When several Users share an email, an active one is preferred. Suspended
 * members own nothing new.
 */
export function matchUsers(
  members: readonly WorkspaceMember[],
  users: readonly SalesforceUser[],
  options: DirectoryOptions = {},
): UserDirectory {
  const userByEmail = new Map<string, SalesforceUser>();
  for (const user of users) {
    const email = emailKey(user.Email);
    if (!email) continue;
    const existing = userByEmail.get(email);
    if (!existing || (existing.IsActive === false && user.IsActive !== false)) userByEmail.set(email, user);
  }
  const active = members.filter((m) => m.access_level !== "suspended");
  const toUser = new Map<string, string>();
  const toMember = new Map<string, string>();
  const emails = new Map<string, string>();
  const unmatchedMembers: string[] = [];
  for (const member of active) {
    const memberId = member.id.workspace_member_id;
    emails.set(memberId, member.email_address);
    const user = userByEmail.get(emailKey(member.email_address) ?? "");
    if (!user) {
      unmatchedMembers.push(memberId);
      continue;
    }
    toUser.set(memberId, user.Id);
    toMember.set(user.Id, memberId);
  }
  for (const user of users) if (user.Email) emails.set(user.Id, user.Email);
  const { member: defaultMember, problem } = pickDefault(active, options);
  return {
    salesforceUserFor: (memberId) => toUser.get(memberId),
    workspaceMemberFor: (userId) => toMember.get(userId),
    defaultMember,
    emailOf: (id) => emails.get(id),
    unmatchedMembers,
    unmatchedUsers: users.filter((u) => !toMember.has(u.Id)).map((u) => u.Id),
    defaultMemberProblem: problem,
  };
}

function pickDefault(
  members: readonly WorkspaceMember[],
  options: DirectoryOptions,
): { member: string | undefined; problem?: string } {
  if (options.defaultOwnerEmail) {
    const wanted = emailKey(options.defaultOwnerEmail);
    const member = members.find((m) => emailKey(m.email_address) === wanted);
    if (member) return { member: member.id.workspace_member_id };
    return {
      member: undefined,
      problem: `default_owner_email ${options.defaultOwnerEmail} is not an active workspace member`,
    };
  }
  const admin = members.find((m) => m.access_level === "admin");
  if (admin) return { member: admin.id.workspace_member_id };
  return { member: undefined, problem: "the workspace has no active admin to own records by default" };
}
