import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** What a finished CLI process printed and its exit code. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

const BIN_DIR = join(import.meta.dirname, '..', '..', 'bin');

/** Runs `bin/<bin> …args` to completion (60 s at most), a failing exit included. */
export function runCli(bin: string, args: readonly string[], env: Record<string, string> = {}): Promise<CliRun> {
  return promisify(execFile)(process.execPath, [join(BIN_DIR, bin), ...args], { env: { ...process.env, ...env }, timeout: 60_000 }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
}
