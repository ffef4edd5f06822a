import { OriginPathError } from './errors.ts';

/**
 * The segments of `file`, a path relative to the package root (docs/pieces.md, "Origins"); throws
 * `OriginPathError` for anything a folder or a URL would resolve outside the root: `..`, `.` or
 * empty segments (so no leading `/`), backslashes and NUL.
 */
export function packagePathSegments(file: string): string[] {
  const segments = file.split('/');
  if (/[\\\0]/.test(file) || segments.some((s) => s === '' || s === '.' || s === '..')) throw new OriginPathError(file);
  return segments;
}
