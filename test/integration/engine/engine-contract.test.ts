import { MessageChannel } from 'node:worker_threads';
import { afterAll } from 'vitest';
import { OrtNodeEngine } from '../../../node-peer/engine/ort-node-engine.ts';
import type { MessagePortLike } from '../../../web-peer/engine/engine-messages.ts';
import { OrtWebEngine } from '../../../shared/engine/ort-web-engine.ts';
import { serveEngine } from '../../../web-peer/engine/serve-engine.ts';
import { WorkerEngine } from '../../../web-peer/engine/worker-engine.ts';
import { runEngineContract } from '../../contracts/engine.contract.ts';
import { KernelEngine } from '../../../shared/engine/kernel/kernel-engine.ts';
import { PageEngine } from '../../../shared/engine/kernel/page-engine.ts';
import { nodeKernelThreadSpawner } from '../../../node-peer/engine/kernel-thread-spawner.ts';

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
runEngineContract('KernelEngine (q4, two threads)', () => new KernelEngine({ threads: 2, spawner: nodeKernelThreadSpawner }), 'q4');
// What the page's engine worker serves, over the same proxy: a q8 package's stages go to the kernel engine.
runEngineContract(
  'WorkerEngine serving the PageEngine (q8, WASM)',
  () => {
    const channel = new MessageChannel();
    channels.push(channel);
    serveEngine(channel.port2 as unknown as MessagePortLike, new PageEngine(new OrtWebEngine({ backend: 'wasm' }), new KernelEngine()));
    channel.port2.start();
    const engine = new WorkerEngine(channel.port1 as unknown as MessagePortLike);
    channel.port1.start();
    return engine;
  },
  'q8',
);
