// The failures of negotiating a direct link (tcp-data-peer.ts): its signals arrive through the
// signaling relay from the remote member, so either may be anything.
import { TransportError } from '../../shared/transport/errors.ts';

/**
 * A direct-link signal that is not what this side waits for: the answering side got something other
 * than one offer (`offer`), the dialing side an answer without a usable host, port and token (`answer`).
 */
export class DirectLinkSignalError extends TransportError {
  override readonly code = 'ERR_DIRECT_LINK_SIGNAL';
  constructor(readonly expected: 'offer' | 'answer') {
    super(expected === 'offer' ? 'expected a direct-link offer' : 'malformed direct-link answer');
  }
}
