/**
 * Per-member bounds on `report`s: the server keeps each member's latest report per kind and relays
 * every report to the room, so without bounds one member could grow the server's memory (many
 * kinds, big data) and multiply its own frame rate by the room's size. Pure: the caller passes the
 * member's stored kinds and its rate bucket.
 */
import { MODEL_REPORT } from '../shared/ring/ring-plan.ts';
import { ERROR_CODES, type ErrorCode } from '../shared/signaling/protocol.ts';
import { checkModelReport } from './model-report.ts';
import type { TokenBucket } from './token-bucket.ts';

export interface ReportCaps {
  /** Distinct report kinds one member may hold (default 8). */
  readonly maxReportKinds: number;
  /** Largest report `data` as JSON, bytes (default 4 KiB); a `model` report is bounded by `maxManifestBytes` instead. */
  readonly maxReportBytes: number;
  /** Kinds a member may send; absent: any kind (up to `maxReportKinds`). */
  readonly allowedKinds?: ReadonlySet<string>;
}

export type ReportCheck = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/**
 * Whether a report of `kind` with `data` may be stored and relayed. `heldKinds` are the kinds the
 * member holds already (a kind it holds may always be replaced); `rate` takes one token per report.
 * Model reports are sized by the model check (their manifest is not stored).
 */
export function checkReport(
  kind: string,
  data: unknown,
  heldKinds: ReadonlySet<string> | ReadonlyMap<string, unknown>,
  rate: TokenBucket,
  now: number,
  caps: ReportCaps,
): ReportCheck {
  if (caps.allowedKinds !== undefined && !caps.allowedKinds.has(kind)) return { ok: false, reason: `report kind ${kind} is not one this server takes` };
  if (!heldKinds.has(kind) && heldKinds.size >= caps.maxReportKinds) return { ok: false, reason: `at most ${caps.maxReportKinds} report kinds per member` };
  if (kind !== MODEL_REPORT) {
    const bytes = jsonBytes(data);
    if (bytes > caps.maxReportBytes) return { ok: false, reason: `report ${kind} is ${bytes} bytes of JSON, over the ${caps.maxReportBytes}-byte limit` };
  }
  if (!rate.take(now)) return { ok: false, reason: 'reports sent faster than the report rate' };
  return { ok: true };
}

export interface ReportIntake extends ReportCaps {
  /** The room's model (model-report.ts). */
  readonly expectedModelId: string;
  readonly maxManifestBytes: number;
}

export type ReportIntakeResult =
  { readonly ok: true; readonly data: unknown } | { readonly ok: false; readonly code: ErrorCode; readonly field: string; readonly reason: string };

/**
 * A report as the room may keep it: within the caps, and for `model` the verified `{modelId,
 * shape}` in place of what was sent. Otherwise the error to answer with.
 */
export function intakeReport(
  kind: string,
  data: unknown,
  heldKinds: ReadonlyMap<string, unknown>,
  rate: TokenBucket,
  now: number,
  intake: ReportIntake,
): ReportIntakeResult {
  const check = checkReport(kind, data, heldKinds, rate, now, intake);
  if (!check.ok) return { ok: false, code: ERROR_CODES.reportRefused, field: 'kind', reason: check.reason };
  if (kind !== MODEL_REPORT) return { ok: true, data };
  const model = checkModelReport(data, intake);
  return model.ok ? { ok: true, data: model.report } : { ok: false, code: ERROR_CODES.modelRefused, field: 'data', reason: model.reason };
}

/** UTF-8 length of `data` as JSON (absent data: 0). */
export function jsonBytes(data: unknown): number {
  if (data === undefined) return 0;
  return Buffer.byteLength(JSON.stringify(data), 'utf8');
}
