import { LitElement, css, html } from 'lit';
import type { RingMember, RingStage } from '../state/app-state.ts';

/** The ring as a bar of layers split by stage, this tab's stage highlighted; members listed below. */
export class RmRingView extends LitElement {
  static override properties = {
    ring: { attribute: false },
    members: { attribute: false },
    self: { type: String },
    numLayers: { type: Number },
    missingBytes: { type: Number },
  };
  static override styles = css`
    :host { display: block; }
    .bar { display: flex; width: 100%; min-height: 2.2rem; border-radius: 0.4rem; overflow: hidden; border: 1px solid #ccd; }
    .stage { display: flex; align-items: center; justify-content: center; font-size: 0.8rem; background: #dfe5f2; border-right: 1px solid #fff; overflow: hidden; white-space: nowrap; padding: 0 0.2rem; }
    .stage.self { background: #2b59c3; color: white; font-weight: 600; }
    ul { list-style: none; padding: 0; margin: 0.5rem 0 0; font-size: 0.85rem; }
    li.self { font-weight: 600; }
    .empty { color: #666; font-size: 0.9rem; }
    .warn { color: #a35200; font-size: 0.9rem; }
  `;

  ring: readonly RingStage[] = [];
  members: readonly RingMember[] = [];
  self = '';
  numLayers = 0;
  missingBytes: number | null = null;

  override render() {
    const total = this.numLayers || this.ring.reduce((n, s) => Math.max(n, s.end), 0);
    return html`
      ${
        this.ring.length === 0 || total === 0
          ? html`<p class="empty">no ring yet</p>`
          : html`<div class="bar" data-testid="ring">
            ${this.ring.map(
              (s) => html`<div class="stage ${s.peerId === this.self ? 'self' : ''}" data-testid=${s.peerId === this.self ? 'my-stage' : 'stage'}
                style="flex: ${s.end - s.start}" title="${s.peerId}: layers ${s.start}–${s.end - 1}">
                ${s.peerId === this.self ? 'this tab' : this.kindOf(s.peerId)} ${s.start}–${s.end - 1}
              </div>`,
            )}
          </div>`
      }
      ${this.missingBytes !== null ? html`<p class="warn" data-testid="missing">The room needs ${(this.missingBytes / 2 ** 20).toFixed(1)} MiB more memory to hold the model.</p>` : ''}
      <ul data-testid="members">
        ${this.members.map((m) => html`<li class=${m.peerId === this.self ? 'self' : ''} data-testid="member">${m.kind} ${m.peerId.slice(0, 8)} · ${(m.memoryBytes / 2 ** 20).toFixed(0)} MiB${m.peerId === this.self ? ' (this tab)' : ''}${linkText(m)}</li>`)}
      </ul>
    `;
  }

  private kindOf(peerId: string): string {
    return this.members.find((m) => m.peerId === peerId)?.kind ?? 'peer';
  }
}
/** A member's link from this tab: round trip, piece throughput and relay (docs/operating.md, "Rings and links"). */
function linkText(m: RingMember): string {
  if (m.link === undefined) return '';
  const rtt = m.link.rttMs === null ? 'rtt …' : `rtt ${m.link.rttMs.toFixed(1)} ms`;
  const bps = m.link.throughputBps;
  const rate = bps === undefined || bps === null ? '' : ` · pieces ${(bps / 1e6).toFixed(1)} MB/s`;
  return ` · ${rtt}${rate}${m.link.relayed === true ? ' · relayed' : ''}`;
}

customElements.define('rm-ring-view', RmRingView);

declare global {
  interface HTMLElementTagNameMap {
    'rm-ring-view': RmRingView;
  }
}
