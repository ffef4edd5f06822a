// The failures of negotiating a direct link (tcp-data-peer.ts): its signals arrive through the
// signaling relay from the remote member, so either may be anything.
import { TransportError } from '../../shared/transport/errors.ts';

/** The answering side got a signal that is not a direct-link offer (or a second one). */
export class DirectLinkOfferError extends TransportError {
  override readonly code = 'ERR_DIRECT_LINK_OFFER';
  constructor() {
    super('expected a direct-link offer');
  }
}

/** The dialing side got an answer without a usable host, port and token. */
export class DirectLinkAnswerError extends TransportError {
  override readonly code = 'ERR_DIRECT_LINK_ANSWER';
  constructor() {
    super('malformed direct-link answer');
  }
}
