import { LitElement, css, html } from 'lit';
import type { Detection, Phase } from '../state/app-state.ts';

const MiB = 1024 * 1024;
const SOURCE = {
  webgpu: 'default: the GPU adapter’s largest buffer',
  wasm: 'default: 3/4 of the 4 GiB WASM heap',
  'device-memory': 'default: half of this device’s memory',
} as const;

/**
 * The one action of the page: what this browser can run on (WebGPU adapter or WASM), the memory
 * budget it offers (editable) and the button. Events out: `budget-change` {bytes}, `contribute`, `leave`.
 */
export class RmContribute extends LitElement {
  static override properties = {
    detection: { attribute: false },
    budgetBytes: { type: Number },
    budgetSource: { type: String },
    phase: { type: String },
    disabled: { type: Boolean },
  };
  static override styles = css`
    :host { display: block; }
    .row { display: flex; flex-wrap: wrap; gap: 0.75rem; align-items: center; }
    button { font: inherit; padding: 0.6rem 1.1rem; border-radius: 0.5rem; border: 0; background: #2b59c3; color: white; cursor: pointer; }
    button.secondary { background: #e4e7ee; color: #222; }
    button:disabled { opacity: 0.5; cursor: default; }
    label { display: inline-flex; gap: 0.4rem; align-items: center; }
    input { width: 6rem; font: inherit; padding: 0.3rem; }
    .device { font-size: 0.9rem; color: #444; }
    .badge { display: inline-block; padding: 0.1rem 0.45rem; border-radius: 0.3rem; background: #eef2fb; font-weight: 600; }
  `;

  detection: Detection = { state: 'detecting' };
  budgetBytes = 256 * MiB;
  /** What the default budget came from; null once the visitor typed one. */
  budgetSource: 'webgpu' | 'wasm' | 'device-memory' | null = null;
  phase: Phase = 'idle';
  disabled = false;

  private device() {
    const d = this.detection;
    if (d.state === 'detecting') return html`detecting a GPU…`;
    if (d.state === 'webgpu') return html`<span class="badge">WebGPU</span> ${d.adapter}`;
    return html`<span class="badge">WASM</span> CPU fallback (${d.reason})`;
  }

  override render() {
    const contributing = this.phase === 'contributing';
    return html`
      <p class="device" data-testid="detection">${this.device()}</p>
      <div class="row">
        <label>memory budget
          <input data-testid="budget" type="number" min="0" step="16" .value=${String(Math.round(this.budgetBytes / MiB))} ?disabled=${contributing}
            @change=${(e: Event) => this.emit('budget-change', { bytes: Math.max(0, Number((e.target as HTMLInputElement).value)) * MiB })} /> MiB
        </label>
        ${this.budgetSource === null ? '' : html`<small data-testid="budget-source">${SOURCE[this.budgetSource]}</small>`}
        ${
          contributing
            ? html`<button class="secondary" data-testid="leave" @click=${() => this.emit('leave', {})}>Stop contributing</button>`
            : html`<button data-testid="contribute" ?disabled=${this.disabled || this.detection.state === 'detecting' || this.phase === 'joining'} @click=${() => this.emit('contribute', {})}>
              Contribute this ${this.detection.state === 'webgpu' ? 'GPU' : 'browser'}
            </button>`
        }
      </div>
    `;
  }

  private emit(name: string, detail: object): void {
    this.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }));
  }
}
customElements.define('rm-contribute', RmContribute);

declare global {
  interface HTMLElementTagNameMap {
    'rm-contribute': RmContribute;
  }
}
