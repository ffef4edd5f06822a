import { describe, expect, it } from 'vitest';
import { planEviction, type EvictionCandidate } from '../../../shared/pieces/eviction-plan.ts';

const MB = 1_000_000;
const models: EvictionCandidate[] = [
  { modelId: 'b', bytes: 30 * MB, lastUsed: 2000 },
  { modelId: 'current', bytes: 50 * MB, lastUsed: 500 },
  { modelId: 'a', bytes: 20 * MB, lastUsed: 1000 },
  { modelId: 'c', bytes: 40 * MB, lastUsed: 3000 },
];
const keep = new Set(['current']);

describe('planEviction', () => {
  it('evicts nothing when the needed bytes fit already', () => {
    expect(planEviction({ usage: 10 * MB, quota: 100 * MB, neededBytes: 80 * MB, models, keep })).toEqual({
      kind: 'fits',
      evict: [],
      freeBytes: 90 * MB,
      wantBytes: 80 * MB,
    });
  });

  it('evicts least recently used first, only as many as needed, never a kept model', () => {
    // 10 free; need 25: 'a' (oldest after the kept one) frees 20 -> 30.
    expect(planEviction({ usage: 150 * MB, quota: 160 * MB, neededBytes: 25 * MB, models, keep })).toEqual({
      kind: 'fits',
      evict: ['a'],
      freeBytes: 30 * MB,
      wantBytes: 25 * MB,
    });
    // need 55: a (20) + b (30) -> 60.
    expect(planEviction({ usage: 150 * MB, quota: 160 * MB, neededBytes: 55 * MB, models, keep })).toMatchObject({
      kind: 'fits',
      evict: ['a', 'b'],
      freeBytes: 60 * MB,
    });
  });

  it('counts the reserve with the needed bytes', () => {
    expect(planEviction({ usage: 150 * MB, quota: 160 * MB, neededBytes: 9 * MB, reserveBytes: 2 * MB, models, keep })).toMatchObject({
      kind: 'fits',
      evict: ['a'],
      wantBytes: 11 * MB,
    });
  });

  it('evicts nothing and names the shortfall when even every other model would not make room', () => {
    expect(planEviction({ usage: 150 * MB, quota: 160 * MB, neededBytes: 120 * MB, models, keep })).toEqual({
      kind: 'short',
      freeBytes: 10 * MB,
      evictableBytes: 90 * MB,
      wantBytes: 120 * MB,
      shortBytes: 20 * MB,
    });
    expect(planEviction({ usage: 0, quota: 5 * MB, neededBytes: 6 * MB, models: [], keep })).toMatchObject({ kind: 'short', shortBytes: MB });
  });

  it('orders ties by model id and treats usage over quota as nothing free', () => {
    const tied = [
      { modelId: 'y', bytes: MB, lastUsed: 1 },
      { modelId: 'x', bytes: MB, lastUsed: 1 },
    ];
    expect(planEviction({ usage: 12 * MB, quota: 10 * MB, neededBytes: MB, models: tied, keep })).toMatchObject({ kind: 'fits', evict: ['x'], freeBytes: MB });
  });

  it('does not reorder the caller’s list', () => {
    const copy = models.map((m) => m.modelId);
    planEviction({ usage: 150 * MB, quota: 160 * MB, neededBytes: 55 * MB, models, keep });
    expect(models.map((m) => m.modelId)).toEqual(copy);
  });
});
