import { LitElement, css, html } from 'lit';
import { StoreController } from '../controllers/store-controller.ts';
import type { AppState } from '../state/app-state.ts';
import type { Store } from '../state/store.ts';
import './rm-cache.ts';
import './rm-chat.ts';
import './rm-contribute.ts';
import './rm-peer-status.ts';
import './rm-ring-view.ts';
import './rm-storage.ts';

/** What the page can do; main.ts passes the controllers' methods in. */
export interface AppActions {
  setBudget(bytes: number): void;
  contribute(): void;
  leave(): void;
  send(text: string): void;
  stopReply(): void;
  clearChat(): void;
  clearCache(): void;
}

/** The page layout: intro, contribute, status + ring, chat, cache. Renders the store; no logic of its own. */
export class RmApp extends LitElement {
  static override properties = { store: { attribute: false }, actions: { attribute: false } };
  static override styles = css`
    :host { display: block; max-width: 60rem; margin: 0 auto; padding: 1rem; font: 15px/1.45 system-ui, sans-serif; color: #1d1d1f; box-sizing: border-box; }
    h1 { font-size: 1.5rem; margin: 0 0 0.25rem; }
    h2 { font-size: 1rem; margin: 0 0 0.6rem; text-transform: uppercase; letter-spacing: 0.04em; color: #555; }
    .lead { margin: 0 0 1rem; color: #333; }
    .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 22rem), 1fr)); gap: 1rem; }
    section { border: 1px solid #e1e3ea; border-radius: 0.7rem; padding: 0.9rem 1rem; background: white; min-width: 0; }
    .error { color: #b00020; overflow-wrap: anywhere; }
    .model { font-size: 0.9rem; color: #444; overflow-wrap: anywhere; }
  `;

  declare store: Store<AppState>;
  declare actions: AppActions;
  private state?: StoreController<AppState>;

  override connectedCallback(): void {
    this.state ??= new StoreController(this, this.store);
    super.connectedCallback();
  }

  override render() {
    const s = this.state!.value;
    const a = this.actions;
    const chatHint = s.modelId === null ? 'No model in this room.' : s.chatReady ? '' : s.phase === 'error' ? 'Not connected.' : 'Connecting to the ring…';
    return html`
      <h1>ringmesh</h1>
      <p class="lead">One language model running across everyone's machines at once: this page lends your browser's GPU (or CPU) to a ring of peers that each hold a few of the model's layers, and lets you chat with it.</p>
      ${s.modelId !== null ? html`<p class="model" data-testid="model">Model ${s.modelName ?? ''} <code>${s.modelId.slice(0, 16)}…</code>${s.numLayers !== null ? ` · ${s.numLayers} layers` : ''}</p>` : ''}
      ${s.error !== null ? html`<p class="error" data-testid="error">${s.error}</p>` : ''}
      <div class="grid">
        <section>
          <h2>Contribute</h2>
          <rm-contribute .detection=${s.detection} .budgetBytes=${s.budgetBytes} .budgetSource=${s.budgetSource} .phase=${s.phase} ?disabled=${s.modelId === null}
            @budget-change=${(e: CustomEvent<{ bytes: number }>) => a.setBudget(e.detail.bytes)} @contribute=${() => a.contribute()} @leave=${() => a.leave()}></rm-contribute>
        </section>
        <section>
          <h2>This tab</h2>
          <rm-peer-status .peerId=${s.peerId ?? ''} .state=${s.signaling} .connections=${Math.max(0, s.members.length - 1)} .layers=${s.layers} ?loaded=${s.stageLoaded}
            .pieces=${s.pieces} .tokensPerSecond=${s.tokensPerSecond} .tokensServed=${s.tokensServed}></rm-peer-status>
        </section>
        <section>
          <h2>Ring ${s.planEpoch !== null ? html`<small>(plan ${s.planEpoch}${s.ringReady ? ', ready' : ''})</small>` : ''}</h2>
          <rm-ring-view .ring=${s.ring} .members=${s.members} .self=${s.peerId ?? ''} .numLayers=${s.numLayers ?? 0} .missingBytes=${s.missingBytes}></rm-ring-view>
        </section>
        <section>
          <h2>Chat</h2>
          <rm-chat .turns=${s.chat} ?ready=${s.chatReady} ?busy=${s.chat.at(-1)?.streaming === true} .hint=${chatHint}
            @send=${(e: CustomEvent<{ text: string }>) => a.send(e.detail.text)} @stop=${() => a.stopReply()} @clear=${() => a.clearChat()}></rm-chat>
        </section>
        <section>
          <h2>Cached in this browser</h2>
          <rm-storage .persistence=${s.persistence} .check=${s.storageCheck}></rm-storage>
          <rm-cache .cached=${s.cached} .storageBytes=${s.storageBytes} .storageQuota=${s.storageQuota} ?disabled=${s.phase === 'contributing' || s.phase === 'joining'} @clear-cache=${() => a.clearCache()}></rm-cache>
        </section>
      </div>
    `;
  }
}
customElements.define('rm-app', RmApp);

declare global {
  interface HTMLElementTagNameMap {
    'rm-app': RmApp;
  }
}
