import { asRoomId, type RoomId } from '../shared/ids.ts';

/** What the page reads from its URL: `?room=<room>&ice=<url>[&ice=<url>…][&ice-user=…&ice-credential=…][&token=<join token>]`. */
export interface PageConfig {
  /** Same-origin signaling endpoint (`ws(s)://<host>/signal`). */
  readonly signalUrl: string;
  readonly room: RoomId;
  /** From `ice` parameters only; none by default (docs/security.md). */
  readonly iceServers: RTCIceServer[];
  /** Join token for a signaling server that requires one (`ringmesh-signal --mint-token`). */
  readonly token?: string;
}

export function readPageConfig(location: { protocol: string; host: string; search: string }): PageConfig {
  const q = new URLSearchParams(location.search);
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const urls = q.getAll('ice').filter((u) => /^(stun|turns?):/.test(u));
  const username = q.get('ice-user');
  const credential = q.get('ice-credential');
  const iceServers: RTCIceServer[] = urls.length === 0 ? [] : [{ urls, ...(username && credential ? { username, credential } : {}) }];
  const token = q.get('token');
  return { signalUrl: `${scheme}//${location.host}/signal`, room: asRoomId(q.get('room') ?? 'lobby'), iceServers, ...(token ? { token } : {}) };
}
