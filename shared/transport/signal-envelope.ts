import { z } from 'zod';

/** The WebRTC default (1200, what browsers use) up to the largest size measured to work (docs/troubleshooting.md). */
export const MIN_LINK_MTU = 1200;
export const MAX_LINK_MTU = 4096;

/**
 * What one peer relays to another through the signaling server: a simple-peer signal (SDP or ICE,
 * verbatim) tagged with the id of the connection attempt, so signals of a timed-out attempt never
 * reach its retry, and an offer with a new id means the remote started over.
 */
export const signalEnvelopeSchema = z.object({
  rm: z.literal(1),
  attempt: z.string().min(1).max(64),
  /**
   * On an offer: the link MTU the offering side uses (PeerTransportOptions.linkMtu). An answerer
   * that can set its own MTU uses the same; one that cannot was never offered one. Bounded by
   * what was measured to work: libdatachannel failed the connection at 8192.
   */
  mtu: z.number().int().min(MIN_LINK_MTU).max(MAX_LINK_MTU).optional(),
  /**
   * On an offer: a direct TCP link instead of WebRTC (PeerTransportOptions.directLink). Only a
   * side that makes direct links answers such an offer; the signals are then the direct link's own.
   */
  link: z.literal('tcp').optional(),
  signal: z.looseObject({ type: z.string().optional() }),
});
export type SignalEnvelope = z.infer<typeof signalEnvelopeSchema>;

export function isOffer(env: SignalEnvelope): boolean {
  return env.signal.type === 'offer';
}
