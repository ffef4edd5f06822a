import { z } from 'zod';

/**
 * What one peer relays to another through the signaling server: a simple-peer signal (SDP or ICE,
 * verbatim) tagged with the id of the connection attempt, so signals of a timed-out attempt never
 * reach its retry, and an offer with a new id means the remote started over.
 */
export const signalEnvelopeSchema = z.object({
  rm: z.literal(1),
  attempt: z.string().min(1).max(64),
  signal: z.looseObject({ type: z.string().optional() }),
});
export type SignalEnvelope = z.infer<typeof signalEnvelopeSchema>;

export function isOffer(env: SignalEnvelope): boolean {
  return env.signal.type === 'offer';
}
