/**
 * Base of every ringmesh error. Each concrete error is its own class with `name` set, so tests and
 * edges (HTTP mapping, CLI exit codes) match on the class, never on message text.
 */
export class RingmeshError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}
