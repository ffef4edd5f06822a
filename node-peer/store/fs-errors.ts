import { StoreFullError, StoreIoError, StorePermissionError } from '../../shared/pieces/errors.ts';

/** Maps a Node fs error to the store error a user can act on, naming the path. */
export function toStoreError(err: unknown, path: string): Error {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return new StoreFullError(path, { cause: err });
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return new StorePermissionError(path, { cause: err });
  return new StoreIoError(path, { cause: err });
}

export function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}
