import type { PeerId } from '../../shared/ids.ts';
import type { SignalingClient } from '../../shared/signaling/signaling-client.ts';

/** Waits until `signaling` has seen `peerId` join its room (peer-joined), e.g. before dialing it. */
export async function waitForMember(signaling: Pick<SignalingClient, 'members'>, peerId: PeerId, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!signaling.members.has(peerId)) {
    if (Date.now() > deadline) throw new Error(`peer-joined of ${peerId} never arrived`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
