import { RingmeshError } from '../../shared/errors.ts';

/** The signaling server did not answer at its URL. */
export class SignalingUnreachableError extends RingmeshError {
  constructor(
    readonly url: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot reach the signaling server at ${url}: ${detail}; expected a running ringmesh-signal there (check --signal / RINGMESH_SIGNAL)`, options);
  }
}

/** The signaling server refused to admit this peer: its join token is missing, expired, for another room or badly signed. */
export class JoinRefusedError extends RingmeshError {
  constructor(
    readonly url: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(
      `the signaling server at ${url} refused this peer (${reason || 'unauthorized'}); it requires a join token: ` +
        'pass one minted by its operator (ringmesh-signal --mint-token <room>) with --token or RINGMESH_TOKEN',
      options,
    );
  }
}

/** http(s)://host/healthz for ws(s)://host/…/signal. */
export function healthUrl(signalUrl: string): string {
  const u = new URL(signalUrl);
  u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
  u.pathname = u.pathname.replace(/\/signal\/?$/, '') + '/healthz';
  u.search = '';
  return u.toString().replace(/([^:])\/\/+/g, '$1/');
}

/**
 * Checks that something answers HTTP at the signaling server's address before joining, so a
 * wrong URL fails in seconds with one clear line instead of retrying forever. Any HTTP answer
 * counts (a proxy may not route /healthz); only a connection failure or timeout is an error.
 */
export async function probeSignaling(signalUrl: string, timeoutMs = 5000): Promise<Record<string, unknown> | null> {
  const url = healthUrl(signalUrl);
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) return null;
    return (await res.json().catch(() => null)) as Record<string, unknown> | null;
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const detail = (err as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (cause?.code ?? cause?.message ?? (err as Error).message);
    throw new SignalingUnreachableError(signalUrl, detail, { cause: err });
  }
}
