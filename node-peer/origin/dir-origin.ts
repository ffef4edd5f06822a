import { open } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { OriginFileMissingError, OriginRangeError } from '../../shared/pieces/errors.ts';
import type { ByteRange, Origin } from '../../shared/pieces/origin.ts';
import { packagePathSegments } from '../../shared/pieces/origin-path.ts';
import { isNotFound, toStoreError } from '../store/fs-errors.ts';

/** A model package directory on this machine (a seed's own copy, or a shared mount). */
export class DirOrigin implements Origin {
  readonly label: string;
  constructor(private readonly dir: string) {
    this.label = resolve(dir);
  }

  async read(file: string, range?: ByteRange): Promise<Uint8Array> {
    const path = join(this.dir, ...packagePathSegments(file));
    const fh = await open(path, 'r').catch((err: unknown) => {
      throw isNotFound(err) ? new OriginFileMissingError(path, { cause: err }) : toStoreError(err, path);
    });
    try {
      const length = range?.length ?? (await fh.stat()).size;
      const out = new Uint8Array(length);
      let got = 0;
      while (got < length) {
        const { bytesRead } = await fh.read(out, got, length - got, (range?.offset ?? 0) + got);
        if (bytesRead === 0) throw new OriginRangeError(path, `file ends after ${got} of ${length} bytes asked at ${range?.offset ?? 0}`);
        got += bytesRead;
      }
      return out;
    } finally {
      await fh.close();
    }
  }
}
