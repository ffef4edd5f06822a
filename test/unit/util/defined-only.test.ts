import { describe, expect, it } from 'vitest';
import { definedOnly } from '../../../shared/util/defined-only.ts';

describe('definedOnly', () => {
  it('drops undefined values and keeps every other value, falsy ones included', () => {
    const o = definedOnly({ a: 1, b: undefined, c: 0, d: '', e: false, f: null });
    expect(o).toEqual({ a: 1, c: 0, d: '', e: false, f: null });
    expect(Object.keys(o)).not.toContain('b');
  });
});
