// The page from `npm start` (no flags: the aidreams260K model at q8, no chat template) speaks: its
// chat continues the user's text as a plain completion and shows run.c's greedy text, first as a
// requester only (the Node peer computes), then contributing (this tab's Worker runs its q8 layers).
// Real processes and Chromium, real WebRTC on loopback (run inside a network namespace).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Llama2cTokenizer } from '../../../shared/tokenizer/llama2c-tokenizer.ts';
import { goldenCases, MODELS_DIR } from '../../util/models.ts';
import { startNpmStack, type NpmStartStack } from '../../util/npm-start-stack.ts';
import { makeTempDir } from '../../util/temp-dir.ts';
import { ensureWebBuild, launchWebRtcChromium } from '../../util/webrtc-chromium.ts';

const tmp = makeTempDir('demo-speaks');
let stack: NpmStartStack;
let browser: Browser;
const problems: string[] = [];
const golden = goldenCases().find((c) => c.model === 'aidreams260K.bin' && c.prompt === 'The machine')!;
/** The page's chat replies with up to 64 tokens: run.c's first 64 after the prompt. */
const REPLY_TOKENS = 64;
const expectedReply = ((): string => {
  const tok = Llama2cTokenizer.fromBytes(new Uint8Array(readFileSync(join(MODELS_DIR, golden.tokenizer))));
  const d = tok.createDecoder(golden.prompt_ids);
  return (
    golden.generated_ids
      .slice(0, REPLY_TOKENS)
      .map((id) => d.push(id))
      .join('') + d.end()
  );
})();

beforeAll(async () => {
  ensureWebBuild();
  stack = await startNpmStack(tmp.path('state'), { args: [] });
  browser = await launchWebRtcChromium();
});

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  tmp.cleanup();
});

/** Sends `text` and returns the finished reply's text (without its token count line). */
async function chat(page: Page, text: string): Promise<string> {
  const before = await page.locator('[data-testid=turn-assistant]').count();
  await page.locator('[data-testid=chat-input]').fill(text);
  await page.locator('[data-testid=chat-send]').click();
  const reply = page.locator('[data-testid=turn-assistant]').nth(before);
  await expect.poll(() => reply.getAttribute('data-streaming'), { timeout: 120_000 }).toBe('no');
  expect(await page.locator('[data-testid=chat-error]').count()).toBe(0);
  return reply.evaluate((el) =>
    [...el.childNodes]
      .filter((n) => n.nodeType === Node.TEXT_NODE)
      .map((n) => n.textContent)
      .join(''),
  );
}

describe('the page from npm start (aidreams260K, q8)', () => {
  it('continues "The machine" with run.c\'s text, as a requester and as a contributor', async () => {
    const page = await browser.newPage();
    page.on('console', (m) => m.type() === 'error' && problems.push(`console: ${m.text()}`));
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    await page.goto(stack.pageUrl);
    await page.locator('[data-testid=chat-input]:not([disabled])').waitFor({ timeout: 60_000 });
    expect(expectedReply.startsWith(', features emerge, fragile dance of probability.')).toBe(true);
    expect(await chat(page, golden.prompt)).toBe(expectedReply);

    // This tab takes layers: its Worker engine computes them from the q8 pieces.
    await page.locator('[data-testid=budget]').fill('256');
    await page.locator('[data-testid=budget]').dispatchEvent('change');
    await page.locator('[data-testid=contribute]').click();
    await expect.poll(() => page.locator('[data-testid=layers]').textContent(), { timeout: 120_000 }).toMatch(/^\d+–\d+ \(loaded\)$/);
    await page.locator('[data-testid=chat-input]:not([disabled])').waitFor({ timeout: 60_000 });
    expect(await chat(page, golden.prompt)).toBe(expectedReply);
    await expect.poll(() => page.locator('[data-testid=tokens]').textContent(), { timeout: 10_000 }).toMatch(/\(([1-9]\d*) tokens through this tab\)/);
    expect(problems).toEqual([]);
    await page.close();
  });
});
