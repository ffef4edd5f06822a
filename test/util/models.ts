import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Real tiny llama2.c models, kept in the repository (models/README.md); `npm start` serves one. */
export const MODELS_DIR = join(import.meta.dirname, '..', '..', 'models');
/** run.c's greedy output on them: the tests' expectation. */
export const GOLDEN_FILE = join(import.meta.dirname, '..', 'fixtures', 'golden-greedy.json');

export interface GoldenCase {
  readonly model: string;
  readonly tokenizer: string;
  readonly prompt: string;
  readonly steps: number;
  readonly temperature: number;
  readonly stdout: string;
  readonly prompt_ids: number[];
  readonly generated_ids: number[];
}

export function goldenCases(): GoldenCase[] {
  return JSON.parse(readFileSync(GOLDEN_FILE, 'utf8')) as GoldenCase[];
}

export function modelFile(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(MODELS_DIR, name)));
}
