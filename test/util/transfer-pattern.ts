// Deterministic test payloads shared by Node peers, pages and the test runner, so a receiver's
// checksum can be compared with the sender's.
import { createHash } from 'node:crypto';

export { patternBytes } from '../../web-peer/debug/pattern-bytes.ts';

export function sha256Hex(...parts: Uint8Array[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}
