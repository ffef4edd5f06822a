import { LitElement, css, html } from 'lit';
import type { CachedModel } from '../state/app-state.ts';

const mb = (n: number): string => `${(n / 2 ** 20).toFixed(1)} MB`;

/**
 * Models kept in this browser (a returning visitor loads them from here) and a clear button, disabled
 * when nothing is kept. `data-checked` on the empty line: the store has been read (storageBytes set).
 * Event out: `clear-cache`.
 */
export class RmCache extends LitElement {
  static override properties = {
    cached: { attribute: false },
    storageBytes: { type: Number },
    storageQuota: { type: Number },
    disabled: { type: Boolean },
  };
  static override styles = css`
    :host { display: block; font-size: 0.9rem; }
    ul { padding-left: 1.1rem; margin: 0.3rem 0; }
    button { font: inherit; padding: 0.35rem 0.8rem; border-radius: 0.4rem; border: 1px solid #bbc; background: white; cursor: pointer; }
    button:disabled { opacity: 0.5; cursor: default; }
  `;

  cached: readonly CachedModel[] = [];
  storageBytes: number | null = null;
  storageQuota: number | null = null;
  disabled = false;

  override render() {
    const empty = this.cached.length === 0 && (this.storageBytes ?? 0) === 0;
    return html`
      ${
        empty
          ? html`<p data-testid="cache-empty" data-checked=${this.storageBytes === null ? 'no' : 'yes'}>Nothing cached in this browser yet.</p>`
          : html`<ul data-testid="cache-list">
              ${this.cached.map(
                (m) =>
                  html`<li data-testid="cached-model">${m.name} — ${mb(m.bytes)}${m.bytes < m.totalBytes ? ` of ${mb(m.totalBytes)} (this tab's layers)` : ''}</li>`,
              )}
              ${this.cached.length === 0 ? html`<li>pieces of models not fully downloaded</li>` : ''}
            </ul>
            ${this.storageBytes !== null ? html`<p data-testid="storage-used">Storage used by this site: ${mb(this.storageBytes)}${this.storageQuota !== null ? ` of ${mb(this.storageQuota)} quota` : ''}</p>` : ''}`
      }
      <button data-testid="clear-cache" ?disabled=${this.disabled || empty} title=${this.disabled ? 'stop contributing first' : ''}
        @click=${() => this.dispatchEvent(new CustomEvent('clear-cache', { bubbles: true, composed: true }))}>Clear cached models</button>
    `;
  }
}
customElements.define('rm-cache', RmCache);

declare global {
  interface HTMLElementTagNameMap {
    'rm-cache': RmCache;
  }
}
