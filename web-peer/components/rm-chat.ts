import { LitElement, css, html } from 'lit';
import type { ChatTurn } from '../state/app-state.ts';

/** The conversation and an input. Events out: `send` {text}, `stop`, `clear`. */
export class RmChat extends LitElement {
  static override properties = {
    turns: { attribute: false },
    ready: { type: Boolean },
    busy: { type: Boolean },
    hint: { type: String },
  };
  static override styles = css`
    :host { display: block; }
    .log { display: flex; flex-direction: column; gap: 0.5rem; max-height: 22rem; overflow-y: auto; padding: 0.25rem 0; }
    .turn { padding: 0.5rem 0.7rem; border-radius: 0.5rem; white-space: pre-wrap; overflow-wrap: anywhere; }
    .user { background: #eef2fb; align-self: flex-end; max-width: 85%; }
    .assistant { background: #f4f4f4; align-self: flex-start; max-width: 95%; }
    .meta { font-size: 0.75rem; color: #666; margin-top: 0.2rem; }
    .error { color: #b00020; }
    form { display: flex; gap: 0.5rem; margin-top: 0.5rem; flex-wrap: wrap; }
    input { flex: 1 1 12rem; font: inherit; padding: 0.5rem; border: 1px solid #bbc; border-radius: 0.4rem; min-width: 0; }
    button { font: inherit; padding: 0.5rem 0.9rem; border-radius: 0.4rem; border: 0; background: #2b59c3; color: white; cursor: pointer; }
    button.secondary { background: #e4e7ee; color: #222; }
    button:disabled { opacity: 0.5; cursor: default; }
    .hint { color: #666; font-size: 0.9rem; }
  `;

  turns: readonly ChatTurn[] = [];
  ready = false;
  busy = false;
  hint = '';

  override updated(): void {
    const log = this.renderRoot.querySelector('.log');
    if (log) log.scrollTop = log.scrollHeight;
  }

  override render() {
    return html`
      <div class="log" data-testid="chat-log" aria-live="polite">
        ${this.turns.map(
          (t) =>
            html`<div class="turn ${t.role}" data-testid=${`turn-${t.role}`} data-streaming=${t.streaming === true ? 'yes' : 'no'}>${t.text}${
              t.error ? html`<div class="error" data-testid="chat-error">${t.error}</div>` : ''
            }${
              t.role === 'assistant' && t.tokens !== undefined
                ? html`<div class="meta">${t.tokens} tokens${t.tokensPerSecond ? ` · ${t.tokensPerSecond.toFixed(1)} tokens/s` : ''}${t.streaming ? ' · streaming…' : ''}</div>`
                : ''
            }</div>`,
        )}
      </div>
      ${this.ready ? '' : html`<p class="hint">${this.hint}</p>`}
      <form @submit=${this.submit}>
        <input data-testid="chat-input" name="text" autocomplete="off" placeholder="Say something to the model" ?disabled=${!this.ready} />
        ${
          this.busy
            ? html`<button type="button" class="secondary" @click=${() => this.emit('stop', {})}>Stop</button>`
            : html`<button data-testid="chat-send" type="submit" ?disabled=${!this.ready}>Send</button>`
        }
        <button type="button" class="secondary" @click=${() => this.emit('clear', {})} ?disabled=${this.turns.length === 0}>Clear</button>
      </form>
    `;
  }

  private submit(e: SubmitEvent): void {
    e.preventDefault();
    const input = this.renderRoot.querySelector('input');
    const text = input?.value.trim() ?? '';
    if (text === '' || this.busy) return;
    if (input) input.value = '';
    this.emit('send', { text });
  }

  private emit(name: string, detail: object): void {
    this.dispatchEvent(new CustomEvent(name, { detail, bubbles: true, composed: true }));
  }
}
customElements.define('rm-chat', RmChat);

declare global {
  interface HTMLElementTagNameMap {
    'rm-chat': RmChat;
  }
}
