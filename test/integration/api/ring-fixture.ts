// A ring of `node-peer start` processes on loopback for the API tests: a signaling server, a seed
// holding the package, and peers joining by model id; the last one serves --api-port.
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { convertModel } from '../../../node-peer/convert/convert-model.ts';
import { MODELS_DIR } from '../../util/models.ts';
import { startPeerProcess, type PeerProcess } from '../../util/pieces-processes.ts';
import { freePort, startSignalingProcess, type SignalingProcess } from '../../util/signaling-process.ts';

export const BIN = join(import.meta.dirname, '../../../bin/node-peer.js');

export interface ApiRing {
  readonly signaling: SignalingProcess;
  readonly peers: PeerProcess[];
  readonly apiUrl: string;
  readonly modelDir: string;
  readonly modelId: string;
  close(): Promise<void>;
}

/** aidreams260K (a real tiny llama2.c model) as a ringmesh package in `dir`. */
export async function aidreamsPackage(dir: string): Promise<{ modelDir: string; modelId: string }> {
  const modelDir = join(dir, 'aidreams');
  const { modelId } = await convertModel(join(MODELS_DIR, 'aidreams260K.bin'), modelDir, { tokenizer: join(MODELS_DIR, 'aidreams-tok512.bin') });
  return { modelDir, modelId };
}

/**
 * `memories[i]` is the --memory of peer i; peer 0 seeds the package directory, the others join by
 * model id and fetch their pieces from it; peer 0 serves the API (it has the tokenizer). Resolves once it has
 * an API and a ready ring.
 */
export async function startApiRing(dir: string, memories: readonly string[]): Promise<ApiRing> {
  const { modelDir, modelId } = await aidreamsPackage(dir);
  const signaling = await startSignalingProcess({ port: await freePort() });
  const peers: PeerProcess[] = [];
  const close = async (): Promise<void> => {
    for (const p of peers) p.kill('SIGINT');
    await Promise.all(peers.map((p) => Promise.race([p.exited, new Promise((r) => setTimeout(r, 10_000))])));
    for (const p of peers) p.kill('SIGKILL');
    await signaling.stop();
  };
  try {
    memories.forEach((memory, i) => {
      const args = [
        '--signal',
        signaling.url,
        '--model',
        i === 0 ? modelDir : modelId,
        '--memory',
        memory,
        '--cache-dir',
        join(dir, `cache-${i}`),
        '--threads',
        '1',
      ];
      peers.push(startPeerProcess(`peer${i}`, i === 0 ? [...args, '--api-port', '0'] : args));
    });
    const apiPeer = peers[0]!;
    const api = await apiPeer.waitFor((e) => e.event === 'api', 60_000);
    await apiPeer.waitFor((e) => e.event === 'ring-ready' && (e['ring'] as unknown[]).length === memories.length, 90_000);
    return { signaling, peers, apiUrl: String(api['url']), modelDir, modelId, close };
  } catch (err) {
    await close();
    throw err;
  }
}

export interface LocalGenerateJson {
  promptIds: number[];
  generatedIds: number[];
  text: string;
  stopReason: 'stop-id' | 'max-tokens' | 'max-positions';
}

/** `node-peer generate --json` on the package (plus `extra` flags): the reference the ring must reproduce. */
export async function generateJson(modelDir: string, prompt: string, maxTokens: number, extra: readonly string[] = []): Promise<LocalGenerateJson> {
  const { stdout } = await promisify(execFile)(process.execPath, [
    BIN,
    'generate',
    '--model',
    modelDir,
    '--prompt',
    prompt,
    '--max-tokens',
    String(maxTokens),
    '--json',
    '--threads',
    '1',
    ...extra,
  ]);
  return JSON.parse(stdout) as LocalGenerateJson;
}
