/** The repository root. */
export const root: string;
/** dist/node-peer/main.mjs. */
export const bundlePath: string;
/** Whether the bundle is newer than node-peer/, shared/ and package.json. */
export function bundleIsFresh(): boolean;
