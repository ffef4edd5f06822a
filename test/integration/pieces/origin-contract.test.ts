// The Origin contract (test/contracts/origin.contract.ts) against the folder origin, the HTTP origin
// (undici) and the browser's fetch origin run under Node's fetch, the last two reading from the
// signaling server's /models/ route over a real socket.
import { DirOrigin } from '../../../node-peer/origin/dir-origin.ts';
import { HttpOrigin } from '../../../node-peer/origin/http-origin.ts';
import { FetchOrigin } from '../../../web-peer/origin/fetch-origin.ts';
import { createSignalingServer } from '../../../signaling/server.ts';
import { runOriginContract, type PackageDirs } from '../../contracts/origin.contract.ts';

/** Retries without waiting: the contract's failures are answers, not outages. */
const noSleep = { sleep: async () => undefined, backoffMs: 1 };

runOriginContract('DirOrigin', async ({ pkg }) => ({ make: () => new DirOrigin(pkg) }));

const served = async ({ web }: PackageDirs, origin: (base: string) => HttpOrigin | FetchOrigin) => {
  const server = await createSignalingServer({ port: 0, staticDir: web });
  return { make: () => origin(new URL('models/m1/', server.httpUrl).href), overUrl: origin, close: () => server.close() };
};
runOriginContract('HttpOrigin (undici)', (dirs) => served(dirs, (base) => new HttpOrigin(base, noSleep)));
runOriginContract('FetchOrigin (Node fetch)', (dirs) => served(dirs, (base) => new FetchOrigin(base, noSleep)));
