import { describe, expect, it } from 'vitest';
import { encodeWithList } from '../../../signaling/encode-with-list.ts';

describe('encodeWithList', () => {
  it('gives the same object as encoding the list directly', () => {
    const items = [{ a: 1 }, { b: 'x"y' }];
    const text = encodeWithList(
      { type: 'peer-joined', epoch: 3 },
      'peers',
      items.map((i) => JSON.stringify(i)),
    );
    expect(JSON.parse(text)).toEqual({ type: 'peer-joined', epoch: 3, peers: items });
  });

  it('handles an empty head and an empty list', () => {
    expect(JSON.parse(encodeWithList({}, 'xs', []))).toEqual({ xs: [] });
  });
});
