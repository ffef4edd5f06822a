import { describe, expect, it } from 'vitest';
import { decideRange, fileEtag, ifRangeMatches } from '../../../signaling/byte-range.ts';

const SIZE = 1000;

describe('decideRange', () => {
  it('serves bytes=a-b, a- and -n as one inclusive range', () => {
    expect(decideRange('bytes=0-99', SIZE)).toEqual({ kind: 'partial', start: 0, end: 99 });
    expect(decideRange('bytes=500-', SIZE)).toEqual({ kind: 'partial', start: 500, end: 999 });
    expect(decideRange('bytes=-100', SIZE)).toEqual({ kind: 'partial', start: 900, end: 999 });
    expect(decideRange('bytes=999-999', SIZE)).toEqual({ kind: 'partial', start: 999, end: 999 });
  });

  it('clamps a last-pos past the end and a suffix longer than the file', () => {
    expect(decideRange('bytes=10-5000', SIZE)).toEqual({ kind: 'partial', start: 10, end: 999 });
    expect(decideRange('bytes=-5000', SIZE)).toEqual({ kind: 'partial', start: 0, end: 999 });
    expect(decideRange('bytes=0-99999999999999999999999', SIZE)).toEqual({ kind: 'partial', start: 0, end: 999 });
  });

  it('accepts a case-insensitive unit, whitespace and empty list elements', () => {
    expect(decideRange('Bytes=1-2', SIZE)).toEqual({ kind: 'partial', start: 1, end: 2 });
    expect(decideRange(' bytes = 1-2 ', SIZE)).toEqual({ kind: 'partial', start: 1, end: 2 });
    expect(decideRange('bytes=1-2, ,', SIZE)).toEqual({ kind: 'partial', start: 1, end: 2 });
  });

  it('refuses ranges that select nothing', () => {
    expect(decideRange('bytes=1000-', SIZE)).toEqual({ kind: 'unsatisfiable' });
    expect(decideRange('bytes=1000-2000', SIZE)).toEqual({ kind: 'unsatisfiable' });
    expect(decideRange('bytes=-0', SIZE)).toEqual({ kind: 'unsatisfiable' });
    expect(decideRange('bytes=0-', 0)).toEqual({ kind: 'unsatisfiable' });
    expect(decideRange('bytes=-5', 0)).toEqual({ kind: 'unsatisfiable' });
    expect(decideRange(`bytes=${'9'.repeat(400)}-`, SIZE)).toEqual({ kind: 'unsatisfiable' });
  });

  it('ignores malformed headers, other units and several ranges (the whole file, 200)', () => {
    expect(decideRange(null, SIZE)).toEqual({ kind: 'whole', reason: 'absent' });
    for (const bad of ['', 'bytes', 'bytes=', 'bytes=abc', 'bytes=5-1', 'bytes=1 - 2', 'bytes=--1', 'bytes=1-2-3', 'bytes=0x1-2', 'bytes=-', 'bytes=1-2,x']) {
      expect(decideRange(bad, SIZE), bad).toEqual({ kind: 'whole', reason: 'malformed' });
    }
    expect(decideRange('items=0-1', SIZE)).toEqual({ kind: 'whole', reason: 'unit' });
    expect(decideRange('bytes=0-1,5-6', SIZE)).toEqual({ kind: 'whole', reason: 'multiple' });
    expect(decideRange('bytes=2000-,3000-', SIZE)).toEqual({ kind: 'whole', reason: 'multiple' });
  });
});

describe('ifRangeMatches', () => {
  const etag = fileEtag(SIZE, 1_700_000_000_123_456_789n);
  const date = new Date(1_700_000_000_000).toUTCString();

  it('lets a Range through when absent or naming the current validator', () => {
    expect(ifRangeMatches(null, etag, date)).toBe(true);
    expect(ifRangeMatches(etag, etag, date)).toBe(true);
    expect(ifRangeMatches(` ${date} `, etag, date)).toBe(true);
  });

  it('drops the Range for another ETag, a weak one or another date', () => {
    expect(ifRangeMatches('"other"', etag, date)).toBe(false);
    expect(ifRangeMatches(`W/${etag}`, etag, date)).toBe(false);
    expect(ifRangeMatches(new Date(0).toUTCString(), etag, date)).toBe(false);
  });

  it('derives distinct ETags from size and nanosecond mtime', () => {
    expect(fileEtag(1, 1n)).not.toBe(fileEtag(1, 2n));
    expect(fileEtag(1, 1n)).not.toBe(fileEtag(2, 1n));
    expect(fileEtag(255, 16n)).toBe('"ff-10"');
  });
});
