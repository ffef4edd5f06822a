import type { ModelPackage } from '../../node-peer/model/open-model-package.ts';

/** Every unit of a package, read and verified. */
export async function readAllUnits(pkg: ModelPackage): Promise<Map<string, Uint8Array>> {
  const units = new Map<string, Uint8Array>();
  for (const u of pkg.manifest.units) units.set(u.name, await pkg.readUnit(u.name));
  return units;
}
