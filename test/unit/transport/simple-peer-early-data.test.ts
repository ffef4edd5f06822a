import { describe, expect, it } from 'vitest';
import { EarlyDataFloodError } from '../../../shared/transport/errors.ts';
import { MAX_EARLY_BYTES, MAX_EARLY_MESSAGES, wrapSimplePeer, type SimplePeerLike } from '../../../shared/transport/simple-peer-data-peer.ts';

/** simple-peer as `wrapSimplePeer` sees it, before its `connect`: the remote's messages arrive anyway. */
class UnconnectedPeer implements SimplePeerLike {
  private readonly listeners = new Map<string, ((...args: never[]) => void)[]>();
  destroyed = false;
  destroyedWith: Error | undefined;
  readonly _channel = null;
  readonly _pc = null;
  signal(): void {}
  send(): void {}
  destroy(err?: Error): void {
    this.destroyed = true;
    this.destroyedWith = err;
  }
  on(event: string, listener: (...args: never[]) => void): void {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
  }
  /** A message from the remote on a channel that is open on its side. */
  remoteSends(m: Uint8Array): void {
    for (const l of this.listeners.get('data') ?? []) (l as (m: Uint8Array) => void)(m);
  }
}

describe('wrapSimplePeer before its connect', () => {
  it('holds the messages that arrive before anyone listens and hands them over in order', () => {
    const sp = new UnconnectedPeer();
    const peer = wrapSimplePeer(sp);
    for (let i = 0; i < 10; i++) sp.remoteSends(new Uint8Array([i]));
    const got: number[] = [];
    peer.on('data', (m) => got.push(m[0] as number));
    sp.remoteSends(new Uint8Array([10]));
    expect(got).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(sp.destroyed).toBe(false);
  });

  it(`drops the peer once more than ${MAX_EARLY_MESSAGES} messages wait for a listener`, () => {
    const sp = new UnconnectedPeer();
    wrapSimplePeer(sp);
    for (let i = 0; i < MAX_EARLY_MESSAGES; i++) sp.remoteSends(new Uint8Array(8));
    expect(sp.destroyed).toBe(false);
    sp.remoteSends(new Uint8Array(8));
    expect(sp.destroyedWith).toBeInstanceOf(EarlyDataFloodError);
  });

  it(`drops the peer once more than ${MAX_EARLY_BYTES / 2 ** 20} MiB wait for a listener`, () => {
    const sp = new UnconnectedPeer();
    wrapSimplePeer(sp);
    const chunk = new Uint8Array(64 * 1024);
    for (let i = 0; i < MAX_EARLY_BYTES / chunk.byteLength; i++) sp.remoteSends(chunk);
    expect(sp.destroyed).toBe(false);
    sp.remoteSends(new Uint8Array(1));
    expect(sp.destroyedWith).toBeInstanceOf(EarlyDataFloodError);
    expect(sp.destroyedWith?.message).toMatch(/before the connection opened/);
  });
});
