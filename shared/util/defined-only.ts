/** Optional properties without the undefined values: `exactOptionalPropertyTypes` reads a key set to undefined as set. */
export type DefinedOnly<T> = { [K in keyof T]?: Exclude<T[K], undefined> };

/** `o` without its undefined-valued keys (option bags passed on from one layer to the next). */
export function definedOnly<T extends object>(o: T): DefinedOnly<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as DefinedOnly<T>;
}
