// `npm start` exactly as the README says (no flags; only free ports and a state dir of its own
// through the environment) serves the built-in aidreams260K model at q8, and the
// OpenAI-compatible API's greedy completion of "The machine" is run.c's fp32 golden text. Plus
// the random demo by flag (`npm start -- --model random --layers 2 --hidden 64`) and a bad flag.
// Real processes (npm, tsx, signaling server, Node peer); run inside a loopback-only namespace.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { Llama2cTokenizer } from '../../../shared/tokenizer/llama2c-tokenizer.ts';
import { goldenCases, MODELS_DIR } from '../../util/models.ts';
import { startNpmStack, type NpmStartStack } from '../../util/npm-start-stack.ts';
import { makeTempDir } from '../../util/temp-dir.ts';

const ROOT = join(import.meta.dirname, '../../..');
const tmp = makeTempDir('npm-start-speaks');
const stacks: NpmStartStack[] = [];
const golden = goldenCases().find((c) => c.model === 'aidreams260K.bin' && c.prompt === 'The machine')!;
const tokenizer = Llama2cTokenizer.fromBytes(new Uint8Array(readFileSync(join(MODELS_DIR, golden.tokenizer))));

afterAll(async () => {
  for (const s of stacks) await s.stop();
  tmp.cleanup();
});

interface Completion {
  model: string;
  choices: Array<{ text: string; token_ids: number[]; finish_reason: string }>;
  usage: { prompt_tokens: number; completion_tokens: number };
}

async function complete(apiUrl: string, body: Record<string, unknown>): Promise<Completion> {
  const res = await fetch(`${apiUrl}/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(200);
  return (await res.json()) as Completion;
}

describe('npm start (no flags)', () => {
  it('serves aidreams260K at q8, and a greedy completion of "The machine" is run.c\'s text', async () => {
    const stack = await startNpmStack(tmp.path('state'), { viaNpm: true, args: [] });
    stacks.push(stack);
    const models = (await (await fetch(`${stack.apiUrl}/models`)).json()) as { data: Array<{ id: string }> };
    expect(models.data.map((m) => m.id)).toContain('aidreams260K');
    // Converted once into the state dir; the page's origin holds the same package.
    const manifest = JSON.parse(readFileSync(tmp.path('state/models/aidreams260K-q8/manifest.json'), 'utf8')) as { dtype: string; name: string };
    expect(manifest).toMatchObject({ dtype: 'q8', name: 'aidreams260K' });
    expect(readdirSync(join(ROOT, 'dist', 'web', 'models'))).toContain(new URL(stack.pageUrl).searchParams.get('room'));

    const maxTokens = golden.steps - golden.prompt_ids.length + 1; // run.c's count: 121
    const r = await complete(stack.apiUrl, { model: 'aidreams260K', prompt: golden.prompt, max_tokens: maxTokens, temperature: 0, return_token_ids: true });
    const { text, token_ids: ids, finish_reason: finish } = r.choices[0]!;
    expect(r.usage.prompt_tokens).toBe(golden.prompt_ids.length);
    // q8 weights, fp32 golden: the same ids (teacher-forced top-1 agreement on this model is 100%).
    expect(ids).toEqual(golden.generated_ids.slice(0, ids.length));
    // The API stops where the prompt plus the completion fill the context (128): one token before
    // run.c, which also prints the token it picks at the last position.
    expect(ids.length).toBe(Math.min(maxTokens, 128 - golden.prompt_ids.length));
    expect(finish).toBe('length');
    const rest = tokenizer.createDecoder([...golden.prompt_ids, ...ids]);
    const tail =
      golden.generated_ids
        .slice(ids.length)
        .map((id) => rest.push(id))
        .join('') + rest.end();
    expect(`${golden.prompt}${text}${tail}\n`).toBe(golden.stdout);
    expect(text.startsWith(', features emerge, fragile dance of probability.')).toBe(true);
  });
});

describe('npm start options', () => {
  it('--model random --layers 2 --hidden 64 serves a random demo of that size', async () => {
    const stack = await startNpmStack(tmp.path('state-random'), {
      viaNpm: true,
      args: ['--model', 'random', '--layers', '2', '--hidden', '64', '--heads', '4'],
    });
    stacks.push(stack);
    expect(stack.output()).toMatch(/OpenAI-compatible API: \S+ {2}\(model "demo-2x64-seed0"\)/);
    const r = await complete(stack.apiUrl, { model: 'demo-2x64-seed0', prompt: 'Hello', max_tokens: 5, temperature: 0, return_token_ids: true });
    expect(r.choices[0]!.token_ids.length).toBeGreaterThan(0);
    await stack.stop();
  });

  it('a flag it does not know exits 2 with the usage', async () => {
    const run = await promisify(execFile)('npm', ['start', '--', '--layer', '2'], { cwd: ROOT, timeout: 60_000 }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/Unknown option '--layer'/);
    expect(run.stderr).toMatch(/--model random/);
  });

  it('a size flag without --model random exits 2', async () => {
    const run = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/start.ts', '--layers', '2'], { cwd: ROOT, timeout: 60_000 }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--layers sizes the random model: add --model random/);
  });
});
