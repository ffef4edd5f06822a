// A room member whose links never open: it joins with memory to offer (so the plan gives it a
// stage) and reports `ready` for every plan that does, but it has no transport, so no offer to it
// is ever answered. Built from the project's own signaling client, in the test's process.
import WebSocket from 'ws';
import { asRoomId } from '../../shared/ids.ts';
import { parseRingPlan, READY_REPORT } from '../../shared/ring/ring-plan.ts';
import type { SignalingClient } from '../../shared/signaling/signaling-client.ts';
import type { WebSocketConstructor } from '../../shared/signaling/web-socket-like.ts';
import { createSignalingClient } from '../../shared/signaling/websocket-signaling-client.ts';

export interface UnlinkedMember {
  readonly peerId: string;
  readonly signaling: SignalingClient;
  close(): Promise<void>;
}

export async function joinUnlinkedMember(signalUrl: string, modelId: string, memoryBytes: number): Promise<UnlinkedMember> {
  const signaling = createSignalingClient({
    url: signalUrl,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    room: asRoomId(modelId),
    capabilities: { kind: 'node', engine: 'cpu', memoryBytes, modelsHeld: [], modelsWanted: [modelId] },
  });
  await signaling.connect();
  const self = signaling.peerId as string;
  signaling.on('plan', (p) => {
    const plan = parseRingPlan(p.plan);
    if (plan?.kind === 'planned' && plan.ring.some((s) => s.peerId === self)) signaling.report(READY_REPORT, { planEpoch: p.epoch });
  });
  return { peerId: self, signaling, close: () => signaling.close() };
}
