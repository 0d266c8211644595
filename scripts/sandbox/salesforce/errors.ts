import type { EmulatorReply } from "../shared/http.ts";

export interface SfErrorItem {
  errorCode: string;
  message: string;
  fields?: string[];
}

/**
 * A failed REST call. Plain resources answer with a JSON array of `{message, errorCode, fields?}`;
 * sObject Collections report the same errors per record, keyed `statusCode` instead.
 */
export class SfError extends Error {
  constructor(
    readonly status: number,
    readonly items: SfErrorItem[],
  ) {
    super(items.map((item) => `${item.errorCode}: ${item.message}`).join("; "));
  }

  reply(headers: Record<string, string> = {}): EmulatorReply {
    return {
      status: this.status,
      headers,
      body: this.items.map((item) => ({
        message: item.message,
        errorCode: item.errorCode,
        ...(item.fields ? { fields: item.fields } : {}),
      })),
    };
  }

  /** The per-record form used inside collection results. */
  asStatusErrors(): Array<{ statusCode: string; message: string; fields: string[] }> {
    return this.items.map((item) => ({ statusCode: item.errorCode, message: item.message, fields: item.fields ?? [] }));
  }
}

export const sfError = (status: number, errorCode: string, message: string, fields?: string[]) =>
  new SfError(status, [fields ? { errorCode, message, fields } : { errorCode, message }]);

export const notFound = () => sfError(404, "NOT_FOUND", "The requested resource does not exist");
export const invalidSession = () => sfError(401, "INVALID_SESSION_ID", "Session expired or invalid");
export const malformedQuery = (message: string) => sfError(400, "MALFORMED_QUERY", message);
