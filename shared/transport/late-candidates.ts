// ICE candidates that trickle in after a link opened. A link can open on the first pair that
// answers (a peer-reflexive one, say) before a slower candidate (a TURN relay's) was gathered; that
// candidate still goes to the other side, so both stacks know each pair for what it is (a
// relayed link is reported as relayed) and can move to it should the first pair fail.
import type { PeerId } from '../ids.ts';
import type { DataPeer } from './data-peer.ts';
import type { SignalEnvelope } from './signal-envelope.ts';

/** Late candidates one link accepts from its remote: a few per interface and server is plenty. */
export const MAX_LATE_CANDIDATES = 32;

interface OpenLink {
  readonly attempt: string;
  readonly peer: DataPeer;
  accepted: number;
}

export function isCandidate(signal: { readonly type?: string | undefined }): boolean {
  return signal.type === 'candidate';
}

/** The attempt each open link came from, so the candidates of that attempt keep flowing both ways. */
export class LateCandidates {
  private readonly links = new Map<PeerId, OpenLink>();

  /** `peer` (of `attempt`) is now the open link to `remote`; returns a function that forgets it. */
  opened(remote: PeerId, attempt: string, peer: DataPeer): () => void {
    const link: OpenLink = { attempt, peer, accepted: 0 };
    this.links.set(remote, link);
    return () => {
      if (this.links.get(remote) === link) this.links.delete(remote);
    };
  }

  /** Whether a signal `peer` (of `attempt`) emitted goes out: only candidates, of the open link. */
  mayForward(remote: PeerId, attempt: string, signal: unknown): boolean {
    const link = this.links.get(remote);
    return link !== undefined && link.attempt === attempt && typeof signal === 'object' && signal !== null && isCandidate(signal as { type?: string });
  }

  /**
   * Hands a remote's candidate to its open link when it belongs to that link's attempt. True when
   * it was this link's (taken, or dropped past the cap: each candidate costs connectivity checks
   * to an address the remote chose); false when it is not a late candidate of an open link.
   */
  deliver(remote: PeerId, env: SignalEnvelope): boolean {
    const link = this.links.get(remote);
    if (link === undefined || link.attempt !== env.attempt || !isCandidate(env.signal)) return false;
    if (link.accepted < MAX_LATE_CANDIDATES && !link.peer.destroyed) {
      link.accepted++;
      link.peer.signal(env.signal);
    }
    return true;
  }

  clear(): void {
    this.links.clear();
  }
}
