// A real ring for the tests and bench: an in-process signaling server running the ring plan hook
// (recording every plan it broadcasts) and Node peer processes (ring-peer-child.ts) on loopback.
import { join } from 'node:path';
import type { NodePeerOptions } from '../../node-peer/peer/node-peer-types.ts';
import type { RingPlan } from '../../shared/ring/ring-plan.ts';
import { createRingPlanHook, REPLAN_REPORT_KINDS } from '../../signaling/plan-hook.ts';
import { createSignalingServer, type SignalingServer } from '../../signaling/server.ts';
import { PeerProcess, type PeerEvent } from './peer-process.ts';

const CHILD = join(import.meta.dirname, 'ring-peer-child.ts');

export interface RecordedPlan {
  readonly epoch: number;
  readonly plan: RingPlan;
}

/**
 * `tokenSecret`: members need join tokens (mint them with `mintJoinToken`), which carry their role.
 * `host`: the address it listens on (default 127.0.0.1).
 * `placement`: the plan hook's (default `memory`: these tests exercise rings of several stages over
 * peers that could each hold the tiny model alone, where `latency` would give each peer its own
 * ring). `openRole`: every member's role on a server without a token secret.
 */
export async function startRingSignaling(
  opts: {
    readonly tokenSecret?: string;
    readonly host?: string;
    readonly placement?: 'latency' | 'memory';
    readonly openRole?: 'trusted' | 'contributor';
  } = {},
): Promise<{ server: SignalingServer; plans: RecordedPlan[] }> {
  const plans: RecordedPlan[] = [];
  const hook = createRingPlanHook({ placement: opts.placement ?? 'memory' });
  const server = await createSignalingServer({
    port: 0,
    ...(opts.host === undefined ? {} : { host: opts.host }),
    ...(opts.tokenSecret === undefined ? {} : { tokenSecret: opts.tokenSecret }),
    ...(opts.openRole === undefined ? {} : { openRole: opts.openRole }),
    plan: (room, members, epoch) => {
      const plan = hook(room, members, epoch);
      if (plan !== undefined) plans.push({ epoch, plan: plan as RingPlan });
      return plan;
    },
    replanOnReports: REPLAN_REPORT_KINDS,
  });
  return { server, plans };
}

export type RingPeerProcess = PeerProcess & { peerId: string };

/** Options of a peer process: NodePeerOptions as JSON (callbacks become flags). */
export type RingPeerChildOptions = Omit<NodePeerOptions, 'onEvent' | 'traceHops' | 'faultInjection'> & {
  readonly traceHops?: boolean;
  /** Accept `{cmd: 'fault'}` commands (a stage that cheats on demand). */
  readonly faults?: boolean;
};

/** Starts one peer process and waits for its `started` event (manifest known). */
export async function startRingPeer(name: string, options: RingPeerChildOptions, timeoutMs = 60_000): Promise<RingPeerProcess> {
  const p = PeerProcess.start(name, CHILD, [JSON.stringify({ bindAddress: '127.0.0.1', ...options })]);
  const started = await p.waitFor((e) => e.event === 'started', timeoutMs, 'started');
  return Object.assign(p, { peerId: started['peerId'] as string });
}

/** Waits until `p` sees a ready ring of exactly `peers` (in any order). */
export function waitRingReady(p: PeerProcess, peers: readonly string[], timeoutMs = 60_000, from = 0): Promise<PeerEvent> {
  const want = [...peers].sort().join(',');
  return p.waitFor((e) => e.event === 'ring-ready' && [...(e['ring'] as string[])].sort().join(',') === want, timeoutMs, `ring-ready of ${want}`, from);
}

export interface Generated {
  readonly tokens: number[];
  readonly reason: string;
  readonly stopToken?: number;
  readonly times: number[];
}

let nextId = 0;

/** How a generation ended when it failed: the error's class name and message. */
export interface GenerateFailure {
  readonly failed: { readonly name: string; readonly message: string };
}

/** Runs one generation on `p` (its requester) and resolves with its end event or its failure. */
export async function tryGenerateOn(
  p: PeerProcess,
  prompt: readonly number[],
  maxTokens: number,
  stop: readonly number[] = [],
  timeoutMs = 120_000,
): Promise<Generated | GenerateFailure> {
  const id = `g${++nextId}`;
  const from = p.mark();
  p.command({ cmd: 'generate', id, prompt, maxTokens, stop });
  const e = await p.waitFor((ev) => (ev.event === 'generated' || ev.event === 'generate-failed') && ev['id'] === id, timeoutMs, `generation ${id}`, from);
  if (e.event === 'generate-failed') return { failed: { name: String(e['name']), message: String(e['message']) } };
  return e as unknown as Generated;
}

/** Runs one generation on `p` (its requester) and resolves with its end event; throws if it failed. */
export async function generateOn(
  p: PeerProcess,
  prompt: readonly number[],
  maxTokens: number,
  stop: readonly number[] = [],
  timeoutMs = 120_000,
): Promise<Generated> {
  const g = await tryGenerateOn(p, prompt, maxTokens, stop, timeoutMs);
  if ('failed' in g) throw new Error(`${p.name}: generation failed: ${g.failed.name}: ${g.failed.message}`);
  return g;
}

/** Greedy ids as run.c prints them: the generated tokens, then the stop id when one ended it. */
export function asGoldenIds(g: Generated): number[] {
  return g.stopToken === undefined ? g.tokens : [...g.tokens, g.stopToken];
}

/** Closes a peer (SIGKILL if it does not exit in time). */
export async function stopPeer(p: PeerProcess): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.command({ cmd: 'close' });
  const timer = setTimeout(() => p.kill(), 5_000);
  await p.exited;
  clearTimeout(timer);
}
