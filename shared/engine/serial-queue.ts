/** Runs the tasks given to it one at a time, in call order; a failed task does not block the next. */
export type SerialQueue = <T>(task: () => Promise<T>) => Promise<T>;

export function createSerialQueue(): SerialQueue {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(task: () => Promise<T>): Promise<T> => {
    const run = tail.then(task);
    // Keep the chain alive after a failure; the caller sees the rejection through `run`.
    tail = run.catch(() => undefined);
    return run;
  };
}
