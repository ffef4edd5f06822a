// Measured links (docs/ring.md, "Measured links"): every few seconds this peer PINGs each open
// connection (the transport smooths the round trips) and asks whether it is relayed; every
// `reportMs` it sends the round trips as `report rtt` (rtt-report.ts), which the plan hook reads
// at the next re-plan. `links()` is what status shows, with the piece swarm's throughput per link.
import type { PeerId } from '../ids.ts';
import type { Clock } from '../util/clock.ts';
import type { Transport } from '../transport/transport.ts';
import { MAX_RTT_ENTRIES, MAX_RTT_MS, RTT_REPORT, type RttReport } from './rtt-report.ts';

/** One open link as status shows it. */
export interface LinkStatus {
  readonly peer: PeerId;
  /** What carries it: a WebRTC data channel or a direct TCP link; undefined when the transport does not say. */
  readonly link?: 'webrtc' | 'tcp';
  /** Smoothed PING round trip, ms; null before the first PONG. */
  readonly rttMs: number | null;
  /** Lowest of the latest round trips, ms (what `report rtt` sends); null before the first PONG. */
  readonly minRttMs: number | null;
  /** Through a TURN relay; null while unknown. */
  readonly relayed: boolean | null;
  /** Smoothed bytes/s of the pieces received over it; null before any. */
  readonly throughputBps: number | null;
}

export interface LinkProbeOptions {
  readonly transport: Transport;
  readonly clock: Clock;
  readonly report: (kind: string, data: unknown) => void;
  /** Between PING rounds, ms (default 5 000). */
  readonly pingMs?: number;
  /** Between `rtt` reports, ms (default 10 000; nothing is sent while nothing was measured). */
  readonly reportMs?: number;
  /** Smoothed bytes/s of piece traffic received from `peer` (the piece swarm measures it); absent: none. */
  readonly throughput?: (peer: PeerId) => number | undefined;
}

/** A PING's deadline: a link that does not answer within it is slow, not measured. */
const PING_TIMEOUT_MS = 5_000;

export class LinkProbe {
  private readonly relayed = new Map<PeerId, boolean>();
  private timer: unknown;
  private closed = false;
  private lastReport = 0;
  private lastSent = '';

  constructor(private readonly opts: LinkProbeOptions) {
    this.lastReport = opts.clock.now();
    this.timer = opts.clock.setTimeout(() => this.round(), Math.min(1_000, this.pingMs()));
  }

  links(): LinkStatus[] {
    return this.opts.transport
      .connections()
      .filter((c) => !c.closed)
      .map((c) => ({
        peer: c.remotePeerId,
        ...(c.link === undefined ? {} : { link: c.link }),
        rttMs: c.stats().rttMs ?? null,
        minRttMs: c.stats().minRttMs ?? c.stats().rttMs ?? null,
        relayed: c.link === 'tcp' ? false : (this.relayed.get(c.remotePeerId) ?? null),
        throughputBps: this.opts.throughput?.(c.remotePeerId) ?? null,
      }));
  }

  /** The server may have lost the last report (a reconnect): the next one goes out even if unchanged. */
  forget(): void {
    this.lastSent = '';
  }

  close(): void {
    this.closed = true;
    this.opts.clock.clearTimeout(this.timer);
  }

  private pingMs(): number {
    return this.opts.pingMs ?? 5_000;
  }

  private round(): void {
    if (this.closed) return;
    const open = this.opts.transport.connections().filter((c) => !c.closed);
    for (const c of open) {
      c.ping(PING_TIMEOUT_MS).catch(() => undefined); // an unanswered PING leaves the last round trip standing
      void c.relayed?.().then((r) => {
        if (r !== undefined) this.relayed.set(c.remotePeerId, r);
      });
    }
    for (const peer of this.relayed.keys()) if (!open.some((c) => c.remotePeerId === peer)) this.relayed.delete(peer);
    if (this.opts.clock.now() - this.lastReport >= (this.opts.reportMs ?? 10_000)) this.sendReport();
    this.timer = this.opts.clock.setTimeout(() => this.round(), this.pingMs());
  }

  private sendReport(): void {
    this.lastReport = this.opts.clock.now();
    // The lowest recent round trip: the planner adds each stage's compute itself, so a PONG that
    // waited for a stage's run must not count again as a slow hop.
    const links: RttReport['links'] = this.links()
      .filter((l): l is LinkStatus & { minRttMs: number } => l.minRttMs !== null)
      .sort((a, b) => a.minRttMs - b.minRttMs)
      .slice(0, MAX_RTT_ENTRIES)
      .map((l) => ({ peer: l.peer, rttMs: Math.min(MAX_RTT_MS, Math.round(l.minRttMs * 100) / 100), ...(l.relayed === null ? {} : { relayed: l.relayed }) }));
    if (links.length === 0) return;
    const body = JSON.stringify(links);
    // Unchanged since the last report: the server still holds it.
    if (body === this.lastSent) return;
    this.lastSent = body;
    this.opts.report(RTT_REPORT, { links });
  }
}
