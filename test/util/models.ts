import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Real tiny llama2.c models and run.c goldens, kept in the repository (see its README). */
export const MODELS_DIR = join(import.meta.dirname, '..', 'fixtures', 'models');

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
  return JSON.parse(readFileSync(join(MODELS_DIR, 'golden-greedy.json'), 'utf8')) as GoldenCase[];
}

export function modelFile(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(MODELS_DIR, name)));
}
