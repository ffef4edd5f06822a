import { LitElement, css, html } from 'lit';

/** Shows this peer's id, its signaling state and how many data channels are open. */
export class RmPeerStatus extends LitElement {
  static override properties = {
    peerId: { type: String },
    state: { type: String },
    connections: { type: Number },
  };
  static override styles = css`
    :host { display: block; font: 14px system-ui, sans-serif; }
    dt { font-weight: 600; }
  `;

  peerId = '';
  state = 'idle';
  connections = 0;

  override render() {
    return html`<dl>
      <dt>peer</dt><dd data-testid="peer-id">${this.peerId || '…'}</dd>
      <dt>signaling</dt><dd data-testid="state">${this.state}</dd>
      <dt>data channels</dt><dd data-testid="connections">${this.connections}</dd>
    </dl>`;
  }
}
customElements.define('rm-peer-status', RmPeerStatus);

declare global {
  interface HTMLElementTagNameMap {
    'rm-peer-status': RmPeerStatus;
  }
}
