// The API's pure admission checks: Host (DNS rebinding), Origin (CORS), bearer key, the bound on
// generations at once, and the prompt-length bound checked before tokenizing.
import { describe, expect, it } from 'vitest';
import { createApiGuard } from '../../../node-peer/api/api-guard.ts';
import { createGenerationSlots } from '../../../node-peer/api/generation-slots.ts';
import { createHostPolicy, hostName, isLoopbackHost } from '../../../node-peer/api/host-policy.ts';
import { checkPromptChars, MAX_CHARS_PER_TOKEN, messageChars } from '../../../node-peer/api/prompt-bounds.ts';
import { ApiError } from '../../../node-peer/api/api-errors.ts';

const req = (headers: Record<string, string>, method = 'GET'): Request => new Request('http://localhost/v1/models', { method, headers });

describe('host policy', () => {
  it('parses host headers', () => {
    expect(hostName('LocalHost:8080')).toBe('localhost');
    expect(hostName('[::1]:8080')).toBe('::1');
    expect(hostName('::1')).toBe('::1');
    expect(hostName('192.0.2.5')).toBe('192.0.2.5');
  });

  it('knows loopback', () => {
    for (const h of ['localhost', '127.0.0.1', '127.1.2.3:99', '[::1]:80', '::1']) expect(isLoopbackHost(h)).toBe(true);
    for (const h of ['0.0.0.0', '::', '192.0.2.5', 'evil.localhost', 'localhost.evil.example', '128.0.0.1']) expect(isLoopbackHost(h)).toBe(false);
  });

  it('bound to loopback: loopback names and public hosts only', () => {
    const ok = createHostPolicy('127.0.0.1', ['llm.example.org']);
    for (const h of ['127.0.0.1:8080', 'localhost:8080', '[::1]:8080', 'LLM.example.org', 'llm.example.org.:443', null]) expect(ok(h)).toBe(true);
    for (const h of ['attacker.example:8080', '192.0.2.5:8080', '', 'localhost.attacker.example']) expect(ok(h)).toBe(false);
  });

  it('bound to an address: that address, loopback names are not it', () => {
    const ok = createHostPolicy('192.0.2.5');
    expect(ok('192.0.2.5:8080')).toBe(true);
    expect(ok('localhost:8080')).toBe(false);
    expect(ok('192.0.2.6:8080')).toBe(false);
    expect(ok('rebound.attacker.example')).toBe(false);
  });

  it('bound to every interface: any address literal and loopback, names only when listed', () => {
    const ok = createHostPolicy('0.0.0.0', ['llm.lan']);
    for (const h of ['198.51.100.7:8080', '[fe80::1]:8080', 'localhost', 'llm.lan:8080']) expect(ok(h)).toBe(true);
    expect(ok('attacker.example:8080')).toBe(false);
  });
});

describe('api guard', () => {
  const refusal = (e: ApiError | null): [number, string | null] | null => (e === null ? null : [e.status, e.code]);

  it('refuses a foreign Host with 421', () => {
    const g = createApiGuard({});
    expect(refusal(g.refuse(req({ host: 'attacker.example:8080' })))).toEqual([421, 'misdirected_host']);
    expect(g.refuse(req({ host: '127.0.0.1:8080' }))).toBeNull();
  });

  it('refuses every Origin by default (403) and sends no CORS headers', () => {
    const g = createApiGuard({});
    expect(refusal(g.refuse(req({ origin: 'http://localhost:5173' })))).toEqual([403, 'origin_not_allowed']);
    expect(refusal(g.refuse(req({ origin: 'null' })))).toEqual([403, 'origin_not_allowed']);
    expect(g.cors(req({ origin: 'http://localhost:5173' }))).toEqual({});
    expect(g.refuse(req({}))).toBeNull(); // non-browser clients send no Origin
  });

  it('allows only the listed origins, with CORS headers for them', () => {
    const g = createApiGuard({ corsOrigins: ['http://localhost:5173'] });
    expect(g.refuse(req({ origin: 'http://localhost:5173' }))).toBeNull();
    expect(g.cors(req({ origin: 'http://localhost:5173' }))).toMatchObject({ 'access-control-allow-origin': 'http://localhost:5173', vary: 'origin' });
    expect(refusal(g.refuse(req({ origin: 'http://localhost:5174' })))).toEqual([403, 'origin_not_allowed']);
    expect(g.cors(req({ origin: 'http://localhost:5174' }))).toEqual({});
  });

  it('checks the bearer key; preflights need none', () => {
    const g = createApiGuard({ apiKey: 'sk-secret', corsOrigins: ['https://app.example'] });
    expect(refusal(g.refuse(req({})))).toEqual([401, 'invalid_api_key']);
    expect(refusal(g.refuse(req({ authorization: 'Bearer sk-secreT' })))).toEqual([401, 'invalid_api_key']);
    expect(refusal(g.refuse(req({ authorization: 'Bearer sk-secret-and-more' })))).toEqual([401, 'invalid_api_key']);
    expect(refusal(g.refuse(req({ authorization: 'sk-secret' })))).toEqual([401, 'invalid_api_key']);
    expect(g.refuse(req({ authorization: 'Bearer sk-secret' }))).toBeNull();
    expect(g.refuse(req({ authorization: 'bearer  sk-secret ' }))).toBeNull();
    expect(g.refuse(req({ origin: 'https://app.example' }, 'OPTIONS'))).toBeNull();
    expect(refusal(g.refuse(req({ origin: 'https://evil.example' }, 'OPTIONS')))).toEqual([403, 'origin_not_allowed']);
  });
});

describe('generation slots', () => {
  it('refuses past the bound with 429 and Retry-After; a release frees one slot once', () => {
    const s = createGenerationSlots(2);
    const a = s.acquire();
    s.acquire();
    let refused: unknown;
    try {
      s.acquire();
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).status).toBe(429);
    expect((refused as ApiError).headers['retry-after']).toBe('1');
    a.release();
    a.release();
    expect(s.active).toBe(1);
    s.acquire();
    expect(s.active).toBe(2);
    expect(() => createGenerationSlots(0)).toThrow(RangeError);
  });
});

describe('prompt bounds', () => {
  it('refuses text longer than the context could hold, naming the field', () => {
    expect(() => checkPromptChars(256 * MAX_CHARS_PER_TOKEN, 256, 'prompt')).not.toThrow();
    try {
      checkPromptChars(256 * MAX_CHARS_PER_TOKEN + 1, 256, 'messages');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).toBody().error).toMatchObject({ param: 'messages', code: 'context_length_exceeded' });
    }
    expect(
      messageChars([
        { role: 'user', content: 'abc' },
        { role: 'user', content: [{ type: 'text', text: 'de' }] },
        { role: 'assistant', content: null },
      ]),
    ).toBe(5);
  });
});
