import { join } from 'node:path';
import type { Engine, Stage } from '../../shared/engine/engine.ts';
import type { LayerRange } from '../../shared/model/layer-range.ts';
import { assertChain } from '../../shared/generate/stage-chain.ts';
import { unitsForRange, type UnitName } from '../../shared/model/manifest.ts';
import { findUnit } from '../../shared/model/pieces.ts';
import type { ModelPackage } from '../model/open-model-package.ts';

/**
 * Loads one stage per range from a package on disk (units read and verified per stage), in order.
 * On failure the stages already loaded are disposed.
 */
export async function loadChain(engine: Engine, pkg: ModelPackage, ranges: readonly LayerRange[], threads?: number): Promise<Stage[]> {
  const numLayers = pkg.manifest.architecture.numLayers;
  assertChain(ranges, numLayers);
  const stages: Stage[] = [];
  try {
    for (const range of ranges) {
      const units = new Map<UnitName, Uint8Array>();
      const unitFiles = new Map<UnitName, string>();
      for (const u of unitsForRange(numLayers, range.start, range.end)) {
        units.set(u, await pkg.readUnit(u));
        unitFiles.set(u, join(pkg.dir, findUnit(pkg.manifest, u).file));
      }
      const releaseUnits = (): void => units.clear();
      stages.push(await engine.loadStage({ manifest: pkg.manifest, range, units, unitFiles, releaseUnits, ...(threads === undefined ? {} : { threads }) }));
    }
  } catch (err) {
    for (const s of stages) await s.dispose();
    throw err;
  }
  return stages;
}
