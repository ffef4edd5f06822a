import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let collect: (() => void) | undefined;

/**
 * One full garbage collection now. A stage's unit bytes (hundreds of MB of Buffers fetched from the
 * swarm) are dead once ORT holds the weights, but a decoding ring allocates so little that V8 may
 * not collect for minutes: the peer's RSS then carries its share of the model twice. `gc` is
 * exposed to a fresh context only, so nothing else in the process sees it.
 */
export function fullGc(): void {
  if (collect === undefined) {
    setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as () => void;
  }
  collect();
}
