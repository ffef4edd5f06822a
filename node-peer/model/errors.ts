import { RingmeshError } from '../../shared/errors.ts';

/** The output directory of a conversion already exists and is not empty: never overwrite a model. */
export class OutputExistsError extends RingmeshError {
  constructor(readonly dir: string) {
    super(`${dir}: output directory already exists and is not empty; expected a new or empty directory`);
  }
}

/** A model package directory lacks a file or cannot be read. */
export class PackageReadError extends RingmeshError {
  constructor(
    readonly file: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${detail}`, options);
  }
}

/** What a writer was given does not fit the manifest it is writing (a bug in the converter). */
export class PackageWriteError extends RingmeshError {
  constructor(
    readonly file: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${detail}`, options);
  }
}
