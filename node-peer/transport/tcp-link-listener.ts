import { createServer, type Server, type Socket } from 'node:net';
import { TransportConfigError } from '../../shared/transport/errors.ts';

/** Bytes of the one-time token a dialer presents first on a direct link. */
export const LINK_TOKEN_BYTES = 32;
/** How long an accepted socket may take to present its token before it is dropped. */
const TOKEN_DEADLINE_MS = 5_000;
/** How long a token handed out in an answer stays valid (the dialer's attempt times out sooner). */
const TOKEN_TTL_MS = 30_000;
/** Sockets accepted but not yet past their token: a flood of them is dropped, not queued. */
const MAX_UNAUTHENTICATED = 64;

/** Where a dialer reaches this listener. */
export interface LinkAddress {
  readonly host: string;
  readonly port: number;
}

type Claim = (socket: Socket, rest: Uint8Array) => void;

/**
 * The TCP server behind this Node peer's direct links (tcp-data-peer.ts). An answering peer
 * registers a one-time token (sent to the dialer through signaling, like WebRTC's DTLS
 * fingerprints); the dialer's socket must present it as its first bytes. A socket that presents
 * nothing in time, an unknown token or a used one is closed, and nothing else happens: a stranger
 * on the port can neither reach a peer nor disturb one.
 */
export class TcpLinkListener {
  private readonly server: Server;
  private readonly claims = new Map<string, { claim: Claim; timer: ReturnType<typeof setTimeout> }>();
  private readonly unauthenticated = new Set<Socket>();
  private readonly ready: Promise<LinkAddress>;
  private closed = false;

  constructor(host: string, port = 0) {
    if (host === '0.0.0.0' || host === '::')
      throw new TransportConfigError('directLinks', `bind address ${host} names no address a dialer can reach; give the peer's own address`);
    this.server = createServer((socket) => this.accept(socket));
    this.ready = new Promise<LinkAddress>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const a = this.server.address();
        if (a === null || typeof a === 'string') return reject(new TransportConfigError('directLinks', `no TCP address on ${host}`));
        // The address actually bound ('localhost' names more than one): what dialers must use.
        resolve({ host: a.address, port: a.port });
      });
    });
    this.ready.catch(() => undefined); // surfaced through `address()`
    // Never keeps the process alive on its own: open links do, through their sockets.
    this.server.unref();
  }

  /** Resolves once listening; rejects when the address cannot be bound. */
  address(): Promise<LinkAddress> {
    return this.ready;
  }

  /** Registers a one-time token; `claim` gets the socket that presents it (and any bytes after it). */
  expect(token: Uint8Array, claim: Claim): () => void {
    const key = Buffer.from(token).toString('hex');
    const timer = setTimeout(() => this.claims.delete(key), TOKEN_TTL_MS);
    timer.unref();
    this.claims.set(key, { claim, timer });
    return () => {
      clearTimeout(timer);
      if (this.claims.get(key)?.claim === claim) this.claims.delete(key);
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const { timer } of this.claims.values()) clearTimeout(timer);
    this.claims.clear();
    for (const s of this.unauthenticated) s.destroy();
    this.server.close();
  }

  private accept(socket: Socket): void {
    if (this.closed || this.unauthenticated.size >= MAX_UNAUTHENTICATED) {
      socket.destroy();
      return;
    }
    this.unauthenticated.add(socket);
    const parts: Buffer[] = [];
    let got = 0;
    const drop = (): void => {
      done();
      socket.destroy();
    };
    const timer = setTimeout(drop, TOKEN_DEADLINE_MS);
    const done = (): void => {
      clearTimeout(timer);
      this.unauthenticated.delete(socket);
      socket.off('data', onData);
      socket.off('error', drop);
      socket.off('close', done);
    };
    const onData = (chunk: Buffer): void => {
      parts.push(chunk);
      got += chunk.byteLength;
      if (got < LINK_TOKEN_BYTES) return;
      const all = Buffer.concat(parts, got);
      const key = all.subarray(0, LINK_TOKEN_BYTES).toString('hex');
      const entry = this.claims.get(key);
      if (entry === undefined) return drop();
      this.claims.delete(key);
      clearTimeout(entry.timer);
      done();
      entry.claim(socket, all.subarray(LINK_TOKEN_BYTES));
    };
    socket.on('data', onData);
    socket.on('error', drop);
    socket.on('close', done);
  }
}
