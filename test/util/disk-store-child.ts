// Child process for disk-store tests: opens a DiskPieceStore at argv[2] and puts argv[3] random
// pieces of argv[4] bytes, printing one JSON line per piece and one for a failure. Run under a
// tiny tmpfs (ENOSPC), another uid (EACCES), or SIGKILLed mid-way (crash during writes).
import { randomBytes } from 'node:crypto';
import { sha256Hex } from '../../shared/crypto/sha256.ts';
import { DiskPieceStore } from '../../node-peer/store/disk-piece-store.ts';

const [dir, countArg, sizeArg] = process.argv.slice(2);
const count = Number(countArg ?? 1);
const size = Number(sizeArg ?? 1024);
try {
  const store = await DiskPieceStore.open(dir ?? '.');
  for (let i = 0; i < count; i++) {
    const data = new Uint8Array(randomBytes(size));
    const hash = await sha256Hex(data);
    await store.put(hash, data);
    console.log(JSON.stringify({ stored: hash }));
  }
  console.log(JSON.stringify({ done: true }));
} catch (err) {
  const e = err as Error & { path?: string };
  console.log(JSON.stringify({ error: e.name, path: e.path, message: e.message }));
  process.exitCode = 3;
}
