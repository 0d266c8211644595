import { makeId } from "./ids.ts";
import type { SoqlQuery } from "./soql.ts";
import type { Change, SalesforceStore, WriteContext } from "./store.ts";

/**
 * What the REST routes (`routes.ts`), the Bulk API (`bulk.ts`) and the Tooling API (`tooling.ts`)
 * work on: one request's context and the org state it reaches beyond the store (query cursors,
 * Bulk API jobs). It lives apart from the routes so that the modules they call need not import them.
 */
export interface ApiContext {
  store: SalesforceStore;
  version: string;
  write: WriteContext;
  /** Receives the changes of one transaction once it succeeded (origin: the request's, unless given). */
  commit(changes: Change[], origin?: string): void;
  bulk: BulkJobs;
  cursors: Map<string, QueryCursor>;
  nextCursorId(): string;
  dailyLimit: number;
  used: number;
}

export interface QueryCursor {
  rows: unknown[];
  totalSize: number;
}

// Bulk API 2.0 jobs, which `bulk.ts` creates and moves from state to state.
type JobState = "Open" | "UploadComplete" | "InProgress" | "JobComplete" | "Failed" | "Aborted";
export const OPERATIONS = ["insert", "update", "upsert", "delete"] as const;
export type Operation = (typeof OPERATIONS)[number];

export interface JobBase {
  id: string;
  object: string;
  createdById: string;
  createdDate: string;
  systemModstamp: string;
  state: JobState;
  apiVersion: string;
  lineEnding: "LF" | "CRLF";
  columnDelimiter: string;
  errorMessage: string | null;
  numberRecordsProcessed: number;
  /** The `Sforce-Call-Options` the job was created (or closed) with: CDC reports it as `client=`. */
  callOptions: string | undefined;
}

export interface IngestJob extends JobBase {
  kind: "ingest";
  operation: Operation;
  externalIdFieldName: string | null;
  header: string[] | null;
  rows: string[][];
  /** PUTs of job data: Salesforce takes them all, but refuses to close a job that had more than one. */
  uploads: number;
  numberRecordsFailed: number;
  successful: Array<{ id: string; created: boolean; row: string[] }>;
  failed: Array<{ id: string; error: string; row: string[] }>;
  /** How many uploaded rows were processed (the rest are unprocessed records). */
  processedRows: number;
}

export interface QueryJob extends JobBase {
  kind: "query";
  operation: "query" | "queryAll";
  query: string;
  parsed: SoqlQuery;
  /** Column names and rows (null = a null value), taken when the job completes. */
  results: { header: string[]; rows: Array<Array<string | null>> } | null;
}

export type Job = IngestJob | QueryJob;

/** The org's Bulk API 2.0 jobs (kept until deleted or the org is reset). */
export class BulkJobs {
  readonly jobs = new Map<string, Job>();
  private counter = 0;

  nextId(): string {
    return makeId("750", ++this.counter);
  }
}
