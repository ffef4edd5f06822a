import { describe, expect, it } from 'vitest';
import { abortable } from '../../../shared/peer/abortable.ts';

class Stopped extends Error {}

describe('abortable', () => {
  it('passes the value through when the signal does not fire', async () => {
    expect(await abortable(Promise.resolve(7), new AbortController().signal, () => new Stopped())).toBe(7);
  });

  it('rejects at once when the signal fires while waiting', async () => {
    const ac = new AbortController();
    const never = new Promise<number>(() => undefined);
    const p = abortable(never, ac.signal, () => new Stopped());
    ac.abort();
    await expect(p).rejects.toBeInstanceOf(Stopped);
  });

  it('rejects without waiting when the signal already fired', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(abortable(Promise.resolve(1), ac.signal, () => new Stopped())).rejects.toBeInstanceOf(Stopped);
  });

  it("passes the step's own failure through", async () => {
    await expect(abortable(Promise.reject(new RangeError('x')), new AbortController().signal, () => new Stopped())).rejects.toBeInstanceOf(RangeError);
  });
});
