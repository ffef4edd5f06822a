import { setFlagsFromString } from 'node:v8';

/** Default V8 flags of a peer process; `RINGMESH_V8_FLAGS` replaces them (empty: V8's defaults). */
const PEER_V8_FLAGS = '--no-incremental-marking';

/**
 * V8 settings for a peer process. A peer moves hundreds of MB through short-lived ArrayBuffers
 * (socket reads, 4 MiB pieces) over a JS heap of only ~17 MB. With incremental marking, V8 kept
 * starting a concurrent mark-compact of the whole heap every ~10 MB of buffers (20–31 per 270 MB
 * model fetched, the marking threads taking CPU the peers needed on a shared machine). Without it a
 * full GC runs only when external memory or the heap calls for one (6–8 per model), as one pause of
 * ~10 ms on a heap this small, rare while a ring decodes (its tensors are KBs). Measured in
 * docs/pieces.md: eight peers fetching a model used 13–14 CPU-s instead of 17. The flag is read
 * whenever V8 decides to collect, so setting it at start-up, before any work, holds.
 */
export function tuneGarbageCollector(flags = process.env['RINGMESH_V8_FLAGS'] ?? PEER_V8_FLAGS): void {
  if (flags.trim() !== '') setFlagsFromString(flags);
}
