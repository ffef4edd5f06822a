import { MessageChannel } from 'node:worker_threads';
import { afterAll } from 'vitest';
import { OrtNodeEngine } from '../../../node-peer/engine/ort-node-engine.ts';
import type { MessagePortLike } from '../../../web-peer/engine/engine-messages.ts';
import { OrtWebEngine } from '../../../shared/engine/ort-web-engine.ts';
import { serveEngine } from '../../../web-peer/engine/serve-engine.ts';
import { WorkerEngine } from '../../../web-peer/engine/worker-engine.ts';
import { runEngineContract } from '../../contracts/engine.contract.ts';

const channels: MessageChannel[] = [];
afterAll(() => channels.forEach((c) => (c.port1.close(), c.port2.close())));

runEngineContract('OrtNodeEngine (CPU)', () => new OrtNodeEngine({ threads: 1 }));
runEngineContract('OrtWebEngine (WASM)', () => new OrtWebEngine({ backend: 'wasm' }));
runEngineContract('WorkerEngine over a MessageChannel', () => {
  const channel = new MessageChannel();
  channels.push(channel);
  serveEngine(channel.port2 as unknown as MessagePortLike, new OrtWebEngine({ backend: 'wasm' }));
  channel.port2.start();
  const engine = new WorkerEngine(channel.port1 as unknown as MessagePortLike);
  channel.port1.start();
  return engine;
});
