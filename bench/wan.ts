// `npm run bench -- wan [options]`: the ring bench over a slow network (bench/_wan-main.ts, options
// and method there; docs/ring.md, "WAN bench"). This file only moves the bench into a network
// namespace of its own (`unshare -n`, loopback only), where the delay line may slow every loopback
// packet without touching the host's traffic; the namespace ends with the bench's last process.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { missingPrerequisites } from './_delay-line.ts';

const INSIDE = 'RINGMESH_WAN_NETNS';

if (process.env[INSIDE] === '1') {
  await import('./_wan-main.ts');
} else {
  const missing = missingPrerequisites();
  if (missing.length > 0) {
    console.error(`bench wan: needs root (network namespaces, iptables) and, on Debian: apt-get install ${missing.join(' ')}`);
    process.exit(2);
  }
  const child = spawn(
    'unshare',
    [
      '-n',
      'sh',
      '-c',
      'ip link set lo up && exec "$@"',
      'sh',
      process.execPath,
      '--import',
      'tsx',
      join(import.meta.dirname, 'wan.ts'),
      ...process.argv.slice(2),
    ],
    {
      stdio: 'inherit',
      env: { ...process.env, [INSIDE]: '1' },
    },
  );
  // Ctrl-C reaches the bench through the terminal as well; a plain kill of this process is passed on.
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  process.on('SIGINT', () => undefined);
  const code = await new Promise<number>((resolve) => child.once('exit', (c, signal) => resolve(c ?? (signal === null ? 1 : 130))));
  if (code !== 0) console.error(`bench wan: exited ${code}`);
  process.exit(code);
}
