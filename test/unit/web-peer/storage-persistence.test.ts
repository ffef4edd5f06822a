import { describe, expect, it } from 'vitest';
import { StoragePersistence } from '../../../web-peer/controllers/storage-persistence.ts';
import { createAppStore } from '../../../web-peer/state/app-state.ts';

/** A browser's storage manager whose persist() answers `answer` and counts the asks. */
function api(answer: boolean | Error, persisted = false) {
  const calls = { persist: 0 };
  return {
    calls,
    persisted: async () => persisted,
    persist: async () => {
      calls.persist++;
      if (answer instanceof Error) throw answer;
      return answer;
    },
  };
}

describe('StoragePersistence', () => {
  it('show() reads the state without asking; request() asks once and shows the answer', async () => {
    const app = createAppStore();
    const browser = api(false);
    const p = new StoragePersistence(app, browser);
    await p.show();
    expect(browser.calls.persist).toBe(0);
    expect(app.get().persistence).toBe('not-asked');
    await Promise.all([p.request(), p.request()]);
    await p.request();
    expect(browser.calls.persist).toBe(1);
    expect(app.get().persistence).toBe('denied');
  });

  it('shows a grant made on an earlier visit, and a granted ask', async () => {
    const app = createAppStore();
    await new StoragePersistence(app, api(true, true)).show();
    expect(app.get().persistence).toBe('granted');
    const fresh = createAppStore();
    await new StoragePersistence(fresh, api(true)).request();
    expect(fresh.get().persistence).toBe('granted');
  });

  it('a throwing persist() is a refusal; no storage API is "unsupported"', async () => {
    const app = createAppStore();
    await new StoragePersistence(app, api(new Error('denied by policy'))).request();
    expect(app.get().persistence).toBe('denied');
    const none = createAppStore();
    await new StoragePersistence(none, undefined).show();
    expect(none.get().persistence).toBe('unsupported');
  });
});
