// `report speed`: what a trusted requester measured of the stages it audited (stage-timing.ts).
// The signaling server's plan hook takes contributors' speeds from these reports — by trusted
// members only — instead of the contributors' own claims.
import { z } from 'zod';

export const SPEED_REPORT = 'speed';
/** Stages one report names at most (keeps it inside the server's per-report byte cap). */
export const MAX_SPEED_ENTRIES = 48;

export const speedReportSchema = z.object({
  measured: z
    .array(z.object({ peer: z.string().min(1).max(64), msPerLayer: z.number().positive().finite(), samples: z.number().int().positive() }))
    .max(MAX_SPEED_ENTRIES),
});
export type SpeedReport = z.infer<typeof speedReportSchema>;
