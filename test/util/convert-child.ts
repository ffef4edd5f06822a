import { execFile } from 'node:child_process';
import { join } from 'node:path';

export interface ConvertChildResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** The child's peak resident set size in bytes (getrusage ru_maxrss, read as it exits). */
  readonly maxRssBytes: number;
  readonly wallMs: number;
}

// Preloaded into the child: prints its own peak RSS (KiB on Linux) on the way out.
const REPORT_RSS = "data:text/javascript,process.on('exit',()=>process.stderr.write('maxRSS='+process.resourceUsage().maxRSS+'\\n'))";

/** Runs `node-peer convert …args` in a child process and reports its peak RSS and wall time. */
export function runConvertChild(args: readonly string[], timeoutMs = 600_000): Promise<ConvertChildResult> {
  const bin = join(import.meta.dirname, '../../bin/node-peer.js');
  const started = Date.now();
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', REPORT_RSS, bin, 'convert', ...args], { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const m = /maxRSS=(\d+)/.exec(stderr);
      if (m === null) {
        reject(new Error(`convert child reported no peak RSS (${err?.message ?? 'no error'}): ${stderr}`));
        return;
      }
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr, maxRssBytes: Number(m[1]) * 1024, wallMs: Date.now() - started });
    });
  });
}
