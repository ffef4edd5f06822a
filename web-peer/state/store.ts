/** A minimal observable value: components read it through a StoreController, never own it. */
export interface Store<T> {
  get(): T;
  /** Shallow-merges `patch` and notifies subscribers. */
  update(patch: Partial<T> | ((s: T) => Partial<T>)): void;
  subscribe(listener: (s: T) => void): () => void;
}

export function createStore<T extends object>(initial: T): Store<T> {
  let state = initial;
  const listeners = new Set<(s: T) => void>();
  return {
    get: () => state,
    update(patch) {
      state = { ...state, ...(typeof patch === 'function' ? patch(state) : patch) };
      for (const l of listeners) l(state);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
