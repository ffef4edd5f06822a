// What a peer announces to the room (the planner sizes its layers by it; piece partners read the
// models it wants). Built the same way for a Node peer and a browser tab.
import type { Capabilities } from '../signaling/protocol.ts';

export interface CapabilityOptions {
  readonly kind: Capabilities['kind'];
  /** Where this peer's stage runs (a pieces-only peer: 'cpu'). */
  readonly engine: Capabilities['engine'];
  readonly modelId: string;
  /** Memory offered for weights + KV caches, bytes; 0 (the default) offers none: seed or requester only. */
  readonly memoryBytes?: number;
  /** Announced layer-forward time, ms; absent: not announced (the planner treats peers as equal). */
  readonly speedMsPerLayer?: number;
  /** This peer answers direct (TCP) link offers (Node peers bound to loopback). */
  readonly directLinks?: boolean;
}

export function peerCapabilities(o: CapabilityOptions): Capabilities {
  return {
    kind: o.kind,
    engine: o.engine,
    memoryBytes: o.memoryBytes ?? 0,
    ...(o.speedMsPerLayer === undefined ? {} : { speedMsPerLayer: o.speedMsPerLayer }),
    modelsHeld: [],
    modelsWanted: [o.modelId],
    ...(o.directLinks === true ? { directLinks: true } : {}),
  };
}
