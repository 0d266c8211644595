import { z } from "zod";
import type { ErrorCode } from "../lib/errors.ts";
import type { MappingIssueCode } from "../mapping/types.ts";

/**
 * The reasons GET /api/v1/issues groups open items by: a pure table, exhaustive over the enum, so a
 * new reason cannot be added without its explanation, what to do, and what retry and dismiss mean
 * for it. docs/TROUBLESHOOTING.md lists every code (test/unit/sync/issue-reasons.test.ts checks it).
 */

/** The stores an item comes from. */
export const ISSUE_KINDS = ["failure", "warning", "conflict", "held_delete", "ambiguous_match"] as const;
export type IssueKind = (typeof ISSUE_KINDS)[number];

export const IssueReasonSchema = z.enum([
  // Failures: messages rejected for good or out of retries (store/failures.ts), by error code.
  "write_rejected",
  "record_not_found",
  "credentials_refused",
  "configuration_invalid",
  "mapping_failed",
  "request_invalid",
  "write_conflict",
  "api_unavailable",
  "record_busy",
  "paused",
  "internal_error",
  "failed_other",
  // Warnings: values not written as they are (store/warnings.ts), by mapping issue code.
  "unmapped_value",
  "invalid_value",
  "out_of_range",
  "unmatched_user",
  "default_owner_used",
  "rejected_by_salesforce",
  "warning_other",
  // Decisions left to a person.
  "conflict_held",
  "delete_held",
  "merge_held",
  "mass_delete_held",
  "ambiguous_match",
]);
export type IssueReason = z.infer<typeof IssueReasonSchema>;

/**
 * What retry does for a reason. `replay`: the stored message is sent again (as
 * POST /failures/{id}/replay does); the item leaves the counts, and comes back if it fails again.
 * `resync`: the record is read and synced again so the engine decides anew; a warning stays open
 * until that sync writes the value (then it clears), an ambiguous match is closed and recorded again
 * if the record still matches several candidates. `refused`: only a person's decision settles it,
 * through `route`.
 */
export type RetryPolicy = { kind: "replay" } | { kind: "resync" } | { kind: "refused"; route: string; why: string };

/** What dismiss does: the item leaves every count; `refused` names the route that decides it. */
export type DismissPolicy = { kind: "dismiss" } | { kind: "refused"; route: string; why: string };

export interface ReasonInfo {
  kind: IssueKind;
  /** Plain language: what happened. */
  explanation: string;
  /** What an operator should do. */
  action: string;
  retry: RetryPolicy;
  dismiss: DismissPolicy;
}

const REPLAY: RetryPolicy = { kind: "replay" };
const RESYNC: RetryPolicy = { kind: "resync" };
const DISMISS: DismissPolicy = { kind: "dismiss" };

const failure = (explanation: string, action: string): ReasonInfo => ({
  kind: "failure",
  explanation,
  action,
  retry: REPLAY,
  dismiss: DISMISS,
});

const warning = (explanation: string, action: string): ReasonInfo => ({
  kind: "warning",
  explanation,
  action,
  retry: RESYNC,
  dismiss: DISMISS,
});

const HELD_DELETE_WHY =
  "a held delete is settled by a decision: approving deletes the other record, rejecting keeps it";

export const REASONS: Record<IssueReason, ReasonInfo> = {
  write_rejected: failure(
    "Attio or Salesforce refused the write for good: a validation rule, a required field, a duplicate rule, a locked record or a value the field does not accept. The error names the rule or field.",
    "Fix the cause the error names (the record's data, the rule, or the mapping), then retry.",
  ),
  record_not_found: failure(
    "A record the sync reads or writes is gone, or not visible to the integration user (a sharing or permission change): nothing was deleted and the pair stays linked.",
    "Check that the record exists and that the integration user can see it (sharing rules, profile); then retry, or dismiss if it is gone on purpose.",
  ),
  credentials_refused: failure(
    "Attio or Salesforce refused the sync's credentials or permissions for this request.",
    "Check ATTIO_API_KEY, the Salesforce external client app and the integration user's permissions (GET /api/v1/status shows the dependencies), then retry.",
  ),
  configuration_invalid: failure(
    "The configuration or a mapping is invalid for this record (an unknown transform, a bad path).",
    "Fix the configuration (POST /api/v1/validate names each problem), then retry.",
  ),
  mapping_failed: failure(
    "The mapping could not be applied to this record (for example a write through a read-only mapping).",
    "Check the mapping of this object in the configuration, then retry or dismiss.",
  ),
  request_invalid: failure(
    "The stored message or a request built from it was invalid (a message from an older version, a value an API refused as malformed).",
    "Retry once after an upgrade; if it fails again, dismiss it and sync the record again with a records job.",
  ),
  write_conflict: failure(
    "The other side reported a conflict with the write (the record changed or was linked meanwhile).",
    "Retry: the record is read again and the engine decides anew.",
  ),
  api_unavailable: failure(
    "An API did not answer or kept limiting the sync until the message ran out of retries.",
    "Check GET /api/v1/status (dependencies, salesforce_api); retry once both APIs answer.",
  ),
  record_busy: failure(
    "The record was being synced by another worker every time this message was tried, until it ran out of retries.",
    "Retry: it normally succeeds once the other work is done.",
  ),
  paused: failure(
    "The deployment was paused or not yet started each time this change was tried, until it ran out of retries (a change that arrives while paused is normally held, not failed).",
    "Resume the deployment (POST /api/v1/resume, or POST /api/v1/start in setup), then retry.",
  ),
  internal_error: failure(
    "An unexpected error in the sync, after every retry.",
    "Retry; if it fails again, report it with the failure's correlation id and error.",
  ),
  failed_other: failure(
    "A failure with an error code this version does not know (recorded by another version).",
    "Read the error; retry, or dismiss it.",
  ),
  unmapped_value: warning(
    "A value has no counterpart on the other side (a country, a select option, a stage, an industry): the rest of the record synced without it.",
    "Add the value to the mapping's table or to the other side (a picklist value, a select option), then retry so the record is synced again; or dismiss it to leave the value unwritten.",
  ),
  invalid_value: warning(
    "A value the other side would refuse as it is (an email, a phone number without a country prefix, a URL): the rest of the record synced without it.",
    "Correct the value on the record, or dismiss it to leave it unwritten.",
  ),
  out_of_range: warning(
    "A number or date outside what the other side accepts: the rest of the record synced without it.",
    "Correct the value on the record, or dismiss it to leave it unwritten.",
  ),
  unmatched_user: warning(
    "An owner or user has no counterpart on the other side (no user with that email): the owner was not written.",
    "Give the person a user on the other side (with the same email), then retry; or dismiss it.",
  ),
  default_owner_used: warning(
    "An owner had no counterpart, so the default owner was written instead.",
    "Give the person a user on the other side, then retry; or dismiss it if the default owner is right.",
  ),
  rejected_by_salesforce: warning(
    "Salesforce refused one value (a picklist value it lacks, a text too long): the record was written without it.",
    "Add the value to the picklist or shorten the value, then retry; or dismiss it.",
  ),
  warning_other: warning(
    "A value was not written as it is, for a reason this version does not know.",
    "Read the warning's message; retry or dismiss it.",
  ),
  conflict_held: {
    kind: "conflict",
    explanation:
      "A field changed on both sides to different values and the conflict strategy (manual) leaves the choice to a person: that field is not synced until it is decided.",
    action:
      "Choose the value: POST /api/v1/conflicts/{id} with the side or the value to keep. Dismissing leaves both values as they are; the conflict comes back when the record syncs again.",
    retry: {
      kind: "refused",
      route: "POST /api/v1/conflicts/{id}",
      why: "a held conflict is settled by choosing a value; syncing it again would hold it again",
    },
    dismiss: DISMISS,
  },
  delete_held: {
    kind: "held_delete",
    explanation:
      "A linked record was deleted on one side and the delete policy holds the delete of its counterpart for approval.",
    action: "Approve (delete the counterpart too) or reject (keep it, unlinked): POST /api/v1/deletes/{id}.",
    retry: { kind: "refused", route: "POST /api/v1/deletes/{id}", why: HELD_DELETE_WHY },
    dismiss: { kind: "refused", route: "POST /api/v1/deletes/{id}", why: HELD_DELETE_WHY },
  },
  merge_held: {
    kind: "held_delete",
    explanation:
      "A record was merged into one that is already linked to another record: which pair survives is left to a person.",
    action:
      "Approve (delete the merged-away record's counterpart) or reject (keep it, unlinked): POST /api/v1/deletes/{id}.",
    retry: { kind: "refused", route: "POST /api/v1/deletes/{id}", why: HELD_DELETE_WHY },
    dismiss: { kind: "refused", route: "POST /api/v1/deletes/{id}", why: HELD_DELETE_WHY },
  },
  mass_delete_held: {
    kind: "held_delete",
    explanation:
      "More records were deleted in one run than the mass-delete circuit breaker allows: all those deletes are held together as one batch.",
    action:
      "Find out why so many records disappeared (a sharing change, an import, a script), then approve or reject the batch: POST /api/v1/deletes/batches/{batch_id}.",
    retry: { kind: "refused", route: "POST /api/v1/deletes/batches/{batch_id}", why: HELD_DELETE_WHY },
    dismiss: { kind: "refused", route: "POST /api/v1/deletes/batches/{batch_id}", why: HELD_DELETE_WHY },
  },
  ambiguous_match: {
    kind: "ambiguous_match",
    explanation:
      "A record with no counterpart matched several records on the other side by its match key (an email, a domain): it is not linked nor created until one is chosen.",
    action:
      "Link the right candidate: POST /api/v1/matches/{id}; or merge the duplicates on the other side, then retry so the record is matched again.",
    retry: RESYNC,
    dismiss: DISMISS,
  },
};

/** The failure reason of each error code the sync raises; a code not listed is `failed_other`. */
const FAILURE_REASONS: Record<ErrorCode, IssueReason> = {
  upstream_rejected: "write_rejected",
  not_found: "record_not_found",
  auth_failed: "credentials_refused",
  unauthorized: "credentials_refused",
  config_invalid: "configuration_invalid",
  mapping_failed: "mapping_failed",
  bad_request: "request_invalid",
  conflict: "write_conflict",
  upstream_unavailable: "api_unavailable",
  rate_limited: "api_unavailable",
  record_busy: "record_busy",
  paused: "paused",
  internal: "internal_error",
};

/** The warning reason of each mapping issue code; `fallback_used` is never stored as a warning. */
const WARNING_REASONS: Record<MappingIssueCode, IssueReason> = {
  unmapped_value: "unmapped_value",
  invalid_value: "invalid_value",
  out_of_range: "out_of_range",
  unmatched_user: "unmatched_user",
  default_owner_used: "default_owner_used",
  rejected_by_salesforce: "rejected_by_salesforce",
  fallback_used: "warning_other",
};

const HELD_DELETE_REASONS = {
  policy: "delete_held",
  merged_into_linked: "merge_held",
  mass_delete: "mass_delete_held",
} as const satisfies Record<string, IssueReason>;
export type HeldDeleteReason = keyof typeof HELD_DELETE_REASONS;

/** The reason of a stored failure's error code (free text in D1: any code is classified). */
export function failureReason(errorCode: string): IssueReason {
  return Object.hasOwn(FAILURE_REASONS, errorCode) ? FAILURE_REASONS[errorCode as ErrorCode] : "failed_other";
}

/** The reason of a stored warning's code. */
export function warningReason(code: string): IssueReason {
  return Object.hasOwn(WARNING_REASONS, code) ? WARNING_REASONS[code as MappingIssueCode] : "warning_other";
}

export function heldDeleteReason(reason: HeldDeleteReason): IssueReason {
  return HELD_DELETE_REASONS[reason];
}

/**
 * Which stored values select a reason's items: the error codes of a failure reason (or, for the
 * catch-all, every known code to exclude), the codes of a warning reason, the hold reasons of a
 * held delete reason.
 */
export type ReasonSelector =
  | { kind: "failure"; codes: string[]; otherThan?: undefined }
  | { kind: "failure"; codes?: undefined; otherThan: string[] }
  | { kind: "warning"; codes: string[]; otherThan?: undefined }
  | { kind: "warning"; codes?: undefined; otherThan: string[] }
  | { kind: "conflict" }
  | { kind: "held_delete"; holds: HeldDeleteReason[] }
  | { kind: "ambiguous_match" };

export function selectorOf(reason: IssueReason): ReasonSelector {
  const kind = REASONS[reason].kind;
  switch (kind) {
    case "failure":
      return reason === "failed_other"
        ? { kind, otherThan: Object.keys(FAILURE_REASONS) }
        : { kind, codes: keysOf(FAILURE_REASONS, reason) };
    case "warning": {
      const known = Object.keys(WARNING_REASONS).filter((code) => code !== "fallback_used");
      return reason === "warning_other" ? { kind, otherThan: known } : { kind, codes: keysOf(WARNING_REASONS, reason) };
    }
    case "conflict":
      return { kind };
    case "held_delete":
      return { kind, holds: keysOf(HELD_DELETE_REASONS, reason) as HeldDeleteReason[] };
    case "ambiguous_match":
      return { kind };
  }
}

function keysOf(table: Record<string, IssueReason>, reason: IssueReason): string[] {
  return Object.entries(table)
    .filter(([, value]) => value === reason)
    .map(([key]) => key);
}

/** Counts of open items as the stores group them; folded into counts per reason. */
export interface StoredCounts {
  failures: readonly { code: string; n: number }[];
  warnings: readonly { code: string; n: number }[];
  conflicts: number;
  heldDeletes: readonly { reason: HeldDeleteReason; n: number }[];
  ambiguousMatches: number;
}

/** Open items per reason, in the enum's order, leaving out reasons with none. */
export function countsByReason(stored: StoredCounts): { reason: IssueReason; count: number }[] {
  const counts = new Map<IssueReason, number>();
  const add = (reason: IssueReason, n: number) => counts.set(reason, (counts.get(reason) ?? 0) + n);
  for (const row of stored.failures) add(failureReason(row.code), row.n);
  for (const row of stored.warnings) add(warningReason(row.code), row.n);
  add("conflict_held", stored.conflicts);
  for (const row of stored.heldDeletes) add(heldDeleteReason(row.reason), row.n);
  add("ambiguous_match", stored.ambiguousMatches);
  return IssueReasonSchema.options
    .map((reason) => ({ reason, count: counts.get(reason) ?? 0 }))
    .filter((group) => group.count > 0);
}

const RETRY_TEXT: Record<RetryPolicy["kind"], string> = {
  replay: "sends the stored message again",
  resync: "syncs the record again, so the engine decides anew",
  refused: "refused",
};

/**
 * The reasons as docs/TROUBLESHOOTING.md lists them, between its `issue-reasons` markers; a test
 * keeps the two equal, so the document always says what the API says.
 */
export function reasonsMarkdown(): string {
  return IssueReasonSchema.options
    .map((reason) => {
      const info = REASONS[reason];
      const retry =
        info.retry.kind === "refused"
          ? `refused (${info.retry.why}): ${info.retry.route}`
          : RETRY_TEXT[info.retry.kind];
      const dismiss =
        info.dismiss.kind === "refused"
          ? `refused: ${info.dismiss.route}`
          : "the item leaves every count until it happens again";
      return [
        `### \`${reason}\` (${info.kind.replace("_", " ")})`,
        "",
        info.explanation,
        "",
        `- What to do: ${info.action}`,
        `- Retry: ${retry}.`,
        `- Dismiss: ${dismiss}.`,
      ].join("\n");
    })
    .join("\n\n");
}
