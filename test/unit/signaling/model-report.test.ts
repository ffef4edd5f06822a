// The server's check of `model` reports: the manifest must hash to the room's model; the shape is
// derived from it, never taken from the member.
import { describe, expect, it } from 'vitest';
import { computeModelId } from '../../../shared/model/model-id.ts';
import { modelShapeFromManifest } from '../../../shared/planner/model-shape.ts';
import { checkModelReport } from '../../../signaling/model-report.ts';
import { buildSyntheticPackage } from '../../util/pieces-package.ts';

const MiB = 1024 * 1024;
const manifestJson = async (seed: number): Promise<{ json: unknown; id: string }> => {
  const pkg = await buildSyntheticPackage({ layers: 4, unitBytes: 2048, pieceSize: 1024, seed });
  return { json: JSON.parse(new TextDecoder().decode(pkg.files.get('manifest.json'))) as unknown, id: pkg.modelId };
};

describe('checkModelReport', () => {
  it('accepts the room model manifest and derives the shape itself', async () => {
    const { json, id } = await manifestJson(1);
    const r = checkModelReport({ modelId: id, manifest: json, contextTokens: 64 }, { expectedModelId: id, maxManifestBytes: MiB });
    expect(r.ok).toBe(true);
    if (r.ok)
      expect(r.report).toEqual({
        modelId: id,
        shape: modelShapeFromManifest((await buildSyntheticPackage({ layers: 4, unitBytes: 2048, pieceSize: 1024, seed: 1 })).manifest, 64),
      });
  });

  it('hashes a parsed manifest (ModelManifest) like its file, so a peer may send the manifest it holds', async () => {
    const pkg = await buildSyntheticPackage({ layers: 3, unitBytes: 4096, pieceSize: 1024, seed: 2 });
    expect(await computeModelId(pkg.manifest)).toBe(pkg.modelId);
    expect(checkModelReport({ modelId: pkg.modelId, manifest: pkg.manifest }, { expectedModelId: pkg.modelId, maxManifestBytes: MiB }).ok).toBe(true);
  });

  it('refuses another model, a manifest that does not hash to its id, a claimed shape and garbage', async () => {
    const room = await manifestJson(3);
    const other = await manifestJson(4);
    const policy = { expectedModelId: room.id, maxManifestBytes: MiB };
    const reasons = [
      // Another model's (valid) manifest, honestly labelled.
      checkModelReport({ modelId: other.id, manifest: other.json }, policy),
      // Another manifest labelled with the room's id.
      checkModelReport({ modelId: room.id, manifest: other.json }, policy),
      // The old report: a shape the member made up.
      checkModelReport(
        { modelId: room.id, shape: { numLayers: 1, bytesPerLayer: 1, embedBytes: 0, headBytes: 0, kvBytesPerTokenPerLayer: 0, contextTokens: 1 } },
        policy,
      ),
      // Deeper than any manifest (and than the stack of a recursive serializer).
      checkModelReport({ modelId: room.id, manifest: JSON.parse('['.repeat(200_000) + ']'.repeat(200_000)) as unknown }, policy),
      // A context the model does not have.
      checkModelReport({ modelId: room.id, manifest: room.json, contextTokens: 1_000_000 }, policy),
      checkModelReport(null, policy),
    ].map((r) => (r.ok ? 'accepted' : r.reason));
    expect(reasons[0]).toMatch(/not this room's model/);
    expect(reasons[1]).toMatch(/hashes to/);
    expect(reasons[2]).toMatch(/the manifest, not a shape/);
    expect(reasons[3]).toMatch(/canonical JSON|hashes to/);
    expect(reasons[4]).toMatch(/planner can use/);
    expect(reasons[5]).toMatch(/must be/);
  });

  it('refuses a manifest over the size limit before hashing it', async () => {
    const { json, id } = await manifestJson(5);
    const r = checkModelReport({ modelId: id, manifest: json }, { expectedModelId: id, maxManifestBytes: 512 });
    expect(r.ok ? 'accepted' : r.reason).toMatch(/over the 512-byte limit/);
  });

  it('refuses a JSON value that hashes to the room id but is no manifest', async () => {
    const junk = { hello: 'world' };
    const id = await computeModelId(junk);
    const r = checkModelReport({ modelId: id, manifest: junk }, { expectedModelId: id, maxManifestBytes: MiB });
    expect(r.ok ? 'accepted' : r.reason).toMatch(/planner can use/);
  });
});
