// Ring session ids are capabilities: whoever knows one can address frames to it. 128 random bits
// (WebCrypto, in Node and browsers alike) make them unguessable; the old `<peer>-<counter>` form
// let any member predict the next request's id.
import { asSessionId, type SessionId } from '../ids.ts';

export const SESSION_ID_BITS = 128;

/** A fresh session id: 32 lowercase hex digits from the platform's CSPRNG. */
export function newSessionId(): SessionId {
  const bytes = crypto.getRandomValues(new Uint8Array(SESSION_ID_BITS / 8));
  let hex = '';
  for (const b of bytes) hex += b.toString(16).padStart(2, '0');
  return asSessionId(hex);
}
