import { LitElement, css, html } from 'lit';
import type { Persistence, StorageCheck } from '../state/app-state.ts';

const mb = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MB`;

const PERSISTENCE: Record<Persistence, string> = {
  unsupported: 'not available in this browser',
  'not-asked': 'not asked yet (asked when this tab contributes or downloads a model)',
  granted: 'granted — the browser keeps the cached model',
  denied: 'not granted — the browser may clear the cached model when space runs low',
};

/** Persistent storage and the quota check made before this tab downloads its layers. No events. */
export class RmStorage extends LitElement {
  static override properties = {
    persistence: { type: String },
    check: { attribute: false },
  };
  static override styles = css`
    :host { display: block; font-size: 0.9rem; }
    p { margin: 0.3rem 0; }
    .short { color: #b00020; overflow-wrap: anywhere; }
  `;

  persistence: Persistence = 'not-asked';
  check: StorageCheck | null = null;

  override render() {
    const c = this.check;
    return html`
      <p data-testid="persistence">Persistent storage: ${PERSISTENCE[this.persistence]}</p>
      ${
        c === null
          ? ''
          : html`<p data-testid="storage-check">Before downloading: ${mb(c.usage)} used of ${mb(c.quota)} quota; this tab's layers need
              <span data-testid="storage-needed">${mb(c.neededBytes)}</span> (${mb(c.missingBytes)} not stored yet).</p>
            ${c.evicted.length > 0 ? html`<p data-testid="storage-evicted">Evicted to make room (least recently used): ${c.evicted.join(', ')}</p>` : ''}
            ${
              c.short === null
                ? ''
                : html`<p class="short" data-testid="storage-short">
                  Not enough storage for this tab's layers: they need ${mb(c.short.wantBytes)} free (with a small reserve), the quota leaves ${mb(c.short.freeBytes)},
                  and evicting every other cached model would free only ${mb(c.short.evictableBytes)} — ${mb(c.short.shortBytes)} short. Nothing was downloaded;
                  free site storage or offer a smaller memory budget.</p>`
            }`
      }
    `;
  }
}
customElements.define('rm-storage', RmStorage);

declare global {
  interface HTMLElementTagNameMap {
    'rm-storage': RmStorage;
  }
}
