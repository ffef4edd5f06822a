import { LitElement, css, html } from 'lit';
import type { SwarmProgress } from '../../shared/pieces/progress.ts';

const mb = (n: number): string => (n / 2 ** 20).toFixed(1);

/** This tab's numbers: peer id, signaling state, layers, piece progress (cache / peers / origin), tokens/s served. */
export class RmPeerStatus extends LitElement {
  static override properties = {
    peerId: { type: String },
    state: { type: String },
    connections: { type: Number },
    layers: { attribute: false },
    loaded: { type: Boolean },
    pieces: { attribute: false },
    tokensPerSecond: { type: Number },
    tokensServed: { type: Number },
  };
  static override styles = css`
    :host { display: block; font-size: 0.9rem; }
    dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.25rem 0.9rem; margin: 0; }
    dt { font-weight: 600; color: #333; }
    dd { margin: 0; overflow-wrap: anywhere; }
    .progress { display: flex; height: 0.6rem; border-radius: 0.3rem; overflow: hidden; background: #eee; margin-top: 0.2rem; max-width: 24rem; }
    .cache { background: #6b8e23; } .peers { background: #2b59c3; } .origin { background: #c37b2b; }
  `;

  peerId = '';
  state = 'idle';
  connections = 0;
  layers: { start: number; end: number } | null = null;
  loaded = false;
  pieces: SwarmProgress | null = null;
  tokensPerSecond = 0;
  tokensServed = 0;

  override render() {
    const p = this.pieces;
    const pct = (n: number): string => `${p && p.bytesTotal > 0 ? (100 * n) / p.bytesTotal : 0}%`;
    return html`<dl>
      <dt>peer</dt><dd data-testid="peer-id">${this.peerId || '…'}</dd>
      <dt>signaling</dt><dd data-testid="state">${this.state}</dd>
      <dt>layers</dt><dd data-testid="layers">${this.layers === null ? 'none' : `${this.layers.start}–${this.layers.end - 1}${this.loaded ? ' (loaded)' : ' (loading…)'}`}</dd>
      <dt>pieces</dt>
      <dd data-testid="pieces">
        ${
          p === null
            ? '—'
            : html`${mb(p.bytesDone)} / ${mb(p.bytesTotal)} MB — cache ${mb(p.fromCache)}, peers ${mb(p.fromPeers)}, origin ${mb(p.fromOrigin)}; served ${mb(p.served)}
              <div class="progress" aria-hidden="true">
                <div class="cache" style="width:${pct(p.fromCache)}"></div><div class="peers" style="width:${pct(p.fromPeers)}"></div><div class="origin" style="width:${pct(p.fromOrigin)}"></div>
              </div>`
        }
      </dd>
      <dt>served</dt><dd data-testid="tokens">${this.tokensPerSecond.toFixed(1)} tokens/s (${this.tokensServed} tokens through this tab)</dd>
    </dl>`;
  }
}
customElements.define('rm-peer-status', RmPeerStatus);

declare global {
  interface HTMLElementTagNameMap {
    'rm-peer-status': RmPeerStatus;
  }
}
