// A Node peer process for the ring tests and bench: `startNodePeer(JSON argv[2])`, its events as
// JSON lines on stdout; commands on stdin: {cmd:"generate", id, prompt, maxTokens, stop?} →
// {event:"generated", id, tokens, reason, stopToken?} or {event:"generate-failed", id, name, message};
// {cmd:"status"} → {event:"status", …}; {cmd:"hops"} → {event:"hops", hops} (activations and tokens sent/received since the last call, with traceHops); {cmd:"close"} → closes and exits 0;
// with `faults: true`, {cmd:"fault", fault: StageFault | null} → the stage perturbs its outputs from now on ({event:"fault"}).
import { createInterface } from 'node:readline';
import { startNodePeer, type NodePeerOptions } from '../../node-peer/peer/node-peer-runtime.ts';
import type { HopTrace } from '../../shared/ring/ring-link.ts';
import type { StageFault } from '../../node-peer/peer/fault-injection.ts';

const out = (e: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(e)}\n`);
const { faults, ...options } = JSON.parse(process.argv[2] ?? '{}') as Omit<NodePeerOptions, 'faultInjection'> & { traceHops?: boolean; faults?: boolean };
const hops: HopTrace[] = [];
let fault: StageFault | undefined;
const peer = await startNodePeer({
  ...options,
  onEvent: (e) => out({ ...e }),
  traceHops: options.traceHops ? (h) => void hops.push(h) : undefined,
  ...(faults === true ? { faultInjection: () => fault } : {}),
});
out({ event: 'started', peerId: peer.peerId, modelId: peer.modelId, layers: peer.manifest.architecture.numLayers });

interface GenerateCommand {
  cmd: 'generate';
  id: string;
  prompt: number[];
  maxTokens: number;
  stop?: number[];
  temperature?: number;
  seed?: number;
}
type Command = GenerateCommand | { cmd: 'status' } | { cmd: 'hops' } | { cmd: 'close' } | { cmd: 'fault'; fault: StageFault | null };

async function generate(c: GenerateCommand): Promise<void> {
  const startedAt = performance.now();
  const times: number[] = [];
  try {
    for await (const e of peer.requester.generate(c.prompt, {
      maxTokens: c.maxTokens,
      stop: c.stop ?? [],
      ...(c.temperature === undefined ? {} : { temperature: c.temperature }),
      ...(c.seed === undefined ? {} : { seed: c.seed }),
    })) {
      if (e.kind === 'token') {
        times.push(performance.now() - startedAt);
        out({ event: 'token', id: c.id, step: e.step, token: e.id });
      } else {
        out({ event: 'generated', id: c.id, tokens: e.tokens, reason: e.reason, ...(e.stopToken === undefined ? {} : { stopToken: e.stopToken }), times });
      }
    }
  } catch (err) {
    const e = err as Error;
    out({ event: 'generate-failed', id: c.id, name: e.name, message: e.message });
  }
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const c = JSON.parse(line) as Command;
  if (c.cmd === 'generate') void generate(c);
  else if (c.cmd === 'status') out({ event: 'status', ...peer.status() });
  else if (c.cmd === 'hops') out({ event: 'hops', hops: hops.splice(0) });
  else if (c.cmd === 'fault') {
    fault = c.fault ?? undefined;
    out({ event: 'fault', fault: c.fault });
  } else if (c.cmd === 'close') void peer.close().then(() => process.exit(0));
});
