// `report rtt`: the round trips a peer measured on its links (PING/PONG, smoothed; link-probe.ts)
// and whether each is relayed. The signaling server's plan hook passes the trusted members'
// samples to the planner as `rttMs` (docs/planner.md, "Cost model"; docs/signaling.md).
import { z } from 'zod';

export const RTT_REPORT = 'rtt';
/** Links one report names at most (keeps it inside the server's per-report byte cap). */
export const MAX_RTT_ENTRIES = 48;
/** A round trip above this (ms) is no measurement of a working link. */
export const MAX_RTT_MS = 60_000;

export const rttReportSchema = z.object({
  links: z
    .array(z.object({ peer: z.string().min(1).max(64), rttMs: z.number().nonnegative().max(MAX_RTT_MS), relayed: z.boolean().optional() }))
    .max(MAX_RTT_ENTRIES),
});
export type RttReport = z.infer<typeof rttReportSchema>;
