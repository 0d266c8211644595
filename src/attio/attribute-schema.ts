import { z } from "zod";

/**
 * The parts of Attio's `GET /v2/objects/{object}/attributes` (and of the options/statuses lists) the
 * mapping engine relies on. Shapes follow Attio's OpenAPI `attribute` schema.
 */
export const AttioAttributeSchema = z.object({
  title: z.string(),
  api_slug: z.string(),
  type: z.string(),
  is_system_attribute: z.boolean(),
  /** false for enriched attributes: Attio fills them and clients cannot write them. */
  is_writable: z.boolean(),
  is_required: z.boolean(),
  is_unique: z.boolean(),
  is_multiselect: z.boolean(),
  is_archived: z.boolean(),
});
export type AttioAttribute = z.infer<typeof AttioAttributeSchema>;

export const AttioAttributeListSchema = z.object({ data: z.array(AttioAttributeSchema) });

/** A select option (`…/attributes/{attr}/options`) or a status (`…/statuses`): only titles matter here. */
export const AttioOptionSchema = z.object({ title: z.string(), is_archived: z.boolean() });

/** `GET /v2/workspace_members` items, for matching owners to Salesforce Users by email. */
export const WorkspaceMemberSchema = z.object({
  id: z.object({ workspace_member_id: z.string() }),
  first_name: z.string().nullable().optional(),
  last_name: z.string().nullable().optional(),
  email_address: z.string(),
  /** `admin`, `member` or `suspended`; the first admin owns deals whose Salesforce owner has no member. */
  access_level: z.string().optional(),
});
export type WorkspaceMember = z.infer<typeof WorkspaceMemberSchema>;
export const WorkspaceMemberListSchema = z.object({ data: z.array(WorkspaceMemberSchema) });
