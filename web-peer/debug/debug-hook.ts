// `window.ringmesh`: a small handle for Playwright tests and the transport bench. It drives the
// same Transport the page uses; it never bypasses it.
import { asPeerId, type PeerId } from '../../shared/ids.ts';
import type { SignalingClient } from '../../shared/signaling/signaling-client.ts';
import type { PeerConnection, Priority, Transport } from '../../shared/transport/transport.ts';
import { patternBytes } from './pattern-bytes.ts';

export interface ReceivedTransfer {
  from: PeerId;
  bytes: number;
  sha256: string;
}

export interface RingmeshDebugHook {
  peerId(): PeerId | undefined;
  /** Tags of finished incoming transfers (PIECE frames of unit `x:<tag>`, ended by HAVE). */
  readonly received: Record<string, ReceivedTransfer>;
  connect(to: string): Promise<void>;
  /** Sends `bytes` of pattern `seed` as PIECE frames; resolves with the sender's checksum and time. */
  sendPattern(to: string, tag: string, bytes: number, seed: number, priority?: Priority): Promise<{ sha256: string; ms: number }>;
  /** `count` PINGs in a row; the round trips in ms. */
  ping(to: string, count: number): Promise<number[]>;
}

const hex = (b: ArrayBuffer): string => [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, '0')).join('');

export function installDebugHook(target: { ringmesh?: RingmeshDebugHook }, signaling: SignalingClient, transport: Transport): void {
  const received: Record<string, ReceivedTransfer> = {};
  const watched = new WeakSet<PeerConnection>();
  const watch = (conn: PeerConnection): void => {
    if (watched.has(conn)) return;
    watched.add(conn);
    const parts = new Map<string, Uint8Array[]>();
    const counted = new Map<string, number>();
    conn.on('frame', (f) => {
      if (f.type === 'PIECE' && f.unit.startsWith('x:')) {
        const tag = f.unit.slice(2);
        if (tag.startsWith('~')) {
          // bench traffic: counted, not kept or hashed
          counted.set(tag, (counted.get(tag) ?? 0) + f.data.byteLength);
          return;
        }
        let list = parts.get(tag);
        if (!list) parts.set(tag, (list = []));
        list.push(f.data);
      } else if (f.type === 'HAVE' && f.unit.startsWith('x:')) {
        const tag = f.unit.slice(2);
        if (tag.startsWith('~')) {
          received[tag] = { from: conn.remotePeerId, bytes: counted.get(tag) ?? 0, sha256: '' };
          counted.delete(tag);
          return;
        }
        const list = parts.get(tag) ?? [];
        parts.delete(tag);
        const all = new Uint8Array(list.reduce((n, p) => n + p.byteLength, 0));
        let at = 0;
        for (const p of list) {
          all.set(p, at);
          at += p.byteLength;
        }
        void crypto.subtle.digest('SHA-256', all).then((d) => {
          received[tag] = { from: conn.remotePeerId, bytes: all.byteLength, sha256: hex(d) };
        });
      }
    });
  };
  transport.on('connection', watch);
  target.ringmesh = {
    peerId: () => signaling.peerId,
    received,
    async connect(to) {
      watch(await transport.connect(asPeerId(to)));
    },
    async sendPattern(to, tag, bytes, seed, priority = 'bulk') {
      const conn = await transport.connect(asPeerId(to));
      watch(conn);
      const step = 1 << 20;
      // Bench traffic (`~tag`) repeats one frame's worth of bytes (no big up-front generation).
      const bench = tag.startsWith('~');
      const data = patternBytes(bench ? Math.min(step, bytes) : bytes, seed);
      const started = performance.now();
      for (let at = 0; at < bytes; at += step) {
        const chunk = bench ? data.subarray(0, Math.min(step, bytes - at)) : data.subarray(at, Math.min(at + step, bytes));
        await conn.send({ type: 'PIECE', requestId: 0, unit: `x:${tag}`, piece: 0, offset: at, data: chunk }, priority);
      }
      await conn.send({ type: 'HAVE', requestId: 0, unit: `x:${tag}`, piece: 0 }, priority);
      // A PING queued after the last chunk returns once the receiver has read everything before it.
      await conn.ping(60_000);
      const ms = performance.now() - started;
      return { sha256: bench ? '' : hex(await crypto.subtle.digest('SHA-256', data)), ms };
    },
    async ping(to, count) {
      const conn = await transport.connect(asPeerId(to));
      const out: number[] = [];
      for (let i = 0; i < count; i++) out.push(await conn.ping());
      return out;
    },
  };
}

declare global {
  interface Window {
    ringmesh?: RingmeshDebugHook;
  }
}
