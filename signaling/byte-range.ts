/**
 * HTTP Range for static files (RFC 9110 §14), pure: one `bytes=` range is served as 206, a range
 * that selects nothing as 416, and everything else — no header, a malformed one, another unit,
 * several ranges — as the whole file with 200, which the RFC allows (a server MAY ignore Range).
 * Several ranges are ignored rather than sent as multipart/byteranges: no client of ours asks
 * for them, and the whole file is what any client may get anyway.
 */

/** What to send: the whole file (200), bytes `start..end` inclusive (206), or 416. */
export type RangeDecision =
  | { readonly kind: 'whole'; readonly reason: 'absent' | 'malformed' | 'unit' | 'multiple' }
  | { readonly kind: 'partial'; readonly start: number; readonly end: number }
  | { readonly kind: 'unsatisfiable' };

/** `first-pos "-" [last-pos]` or `"-" suffix-length`, digits only, whitespace around allowed. */
const RANGE_SPEC = /^(?:(\d+)-(\d*)|-(\d+))$/;

/** Decides how to answer a `Range` header value (null when absent) for a file of `size` bytes. */
export function decideRange(header: string | null, size: number): RangeDecision {
  if (header === null) return { kind: 'whole', reason: 'absent' };
  const eq = header.indexOf('=');
  if (eq < 0) return { kind: 'whole', reason: 'malformed' };
  // The unit is a case-insensitive token; an unknown unit is ignored, not refused.
  if (header.slice(0, eq).trim().toLowerCase() !== 'bytes') return { kind: 'whole', reason: 'unit' };
  // A list (RFC 9110 §5.6.1): empty elements are allowed and mean nothing.
  const specs = header
    .slice(eq + 1)
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (specs.length === 0) return { kind: 'whole', reason: 'malformed' };
  const parsed = specs.map((s) => RANGE_SPEC.exec(s));
  if (parsed.some((m) => m === null)) return { kind: 'whole', reason: 'malformed' };
  if (parsed.length > 1) return { kind: 'whole', reason: 'multiple' };
  const m = parsed[0] as RegExpExecArray;
  if (m[3] !== undefined) {
    // Suffix: the last n bytes, all of them when the file is shorter; `-0` selects nothing.
    const n = Number(m[3]);
    if (n === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const last = m[2] === '' ? Number.POSITIVE_INFINITY : Number(m[2]);
  // last < first is an invalid range-spec: the header is ignored (§14.1.1), not refused.
  if (last < start) return { kind: 'whole', reason: 'malformed' };
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end: Math.min(last, size - 1) };
}

/**
 * Whether an `If-Range` header lets the Range through: absent, or naming the current strong
 * ETag, or exactly the current Last-Modified date. Otherwise the file changed since the client's
 * partial copy and it must get the whole new file (RFC 9110 §13.1.5).
 */
export function ifRangeMatches(ifRange: string | null, etag: string, lastModified: string): boolean {
  if (ifRange === null) return true;
  const value = ifRange.trim();
  if (value.startsWith('"')) return value === etag;
  // A weak ETag never matches If-Range; a date must equal Last-Modified exactly.
  if (value.startsWith('W/')) return false;
  return value === lastModified;
}

/** A strong validator from size and modification time (nanoseconds when the file system has them). */
export function fileEtag(size: number, mtimeNs: bigint): string {
  return `"${size.toString(16)}-${mtimeNs.toString(16)}"`;
}
