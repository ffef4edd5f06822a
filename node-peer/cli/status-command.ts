import { Option, type Command } from 'commander';
import { RingmeshError } from '../../shared/errors.ts';
import { parseSignalUrl } from './option-parsers.ts';
import { healthUrl, probeSignaling, SignalingUnreachableError } from './signal-probe.ts';

interface StatusOptions {
  api?: string;
  signal?: string;
  apiKey?: string;
  json?: boolean;
}

/** The peer's API did not answer. */
export class PeerUnreachableError extends RingmeshError {
  constructor(
    readonly url: string,
    detail: string,
  ) {
    super(`cannot reach a node peer's API at ${url}: ${detail}; expected \`node-peer start --api-port\` running there`);
  }
}

async function getJson(url: string, apiKey: string | undefined): Promise<Record<string, unknown>> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000), ...(apiKey === undefined ? {} : { headers: { authorization: `Bearer ${apiKey}` } }) });
    const body = (await res.json()) as Record<string, unknown>;
    if (!res.ok) throw new PeerUnreachableError(url, `HTTP ${res.status} ${JSON.stringify(body)}`);
    return body;
  } catch (err) {
    if (err instanceof PeerUnreachableError) throw err;
    const cause = (err as { cause?: { code?: string } }).cause;
    throw new PeerUnreachableError(url, cause?.code ?? (err as Error).message);
  }
}

/**
 * `node-peer status`: what a running peer (its API's GET /status: peer id, model, plan, layers,
 * ring, pieces) and/or the signaling server (GET /healthz: rooms, peers) say right now.
 */
export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description("show a running peer's state (via its API: model, layers, ring, pieces) and/or the signaling server's health")
    .addOption(new Option('--api <url>', "a running peer's API, e.g. http://127.0.0.1:8080 (from node-peer start --api-port)").env('RINGMESH_API_URL'))
    .addOption(
      new Option('--signal <url>', 'signaling server, ws(s)://host:port/signal (its /healthz is read)').env('RINGMESH_SIGNAL').argParser(parseSignalUrl),
    )
    .addOption(new Option('--api-key <key>', 'bearer key, when the API requires one').env('RINGMESH_API_KEY'))
    .option('--json', 'print one JSON object instead of lines')
    .addHelpText('after', '\nExit codes: 0 everything asked answered, 1 a peer or server did not answer, 2 bad flag.')
    .action(async (o: StatusOptions) => {
      if (o.api === undefined && o.signal === undefined) program.error('error: give --api <url> and/or --signal <url>', { exitCode: 2 });
      const result: Record<string, unknown> = {};
      try {
        if (o.signal !== undefined) {
          const health = await probeSignaling(o.signal);
          result['signaling'] = { url: healthUrl(o.signal), ...(health ?? { status: 'reachable' }) };
        }
        if (o.api !== undefined) {
          const base = o.api.replace(/\/+$/, '');
          result['peer'] = await getJson(`${base}/status`, o.apiKey);
          const models = await getJson(`${base}/v1/models`, o.apiKey);
          result['models'] = (models['data'] as Array<{ id: string }> | undefined)?.map((m) => m.id) ?? [];
        }
      } catch (err) {
        if (!(err instanceof PeerUnreachableError) && !(err instanceof SignalingUnreachableError)) throw err;
        process.stderr.write(`error: ${err.name}: ${err.message}\n`);
        process.exit(1);
      }
      if (o.json === true) process.stdout.write(`${JSON.stringify(result)}\n`);
      else for (const [k, v] of Object.entries(result)) process.stdout.write(`${k}: ${JSON.stringify(v, null, 2)}\n`);
    });
}
