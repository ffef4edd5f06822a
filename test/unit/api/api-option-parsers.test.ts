// The API flags of `node-peer start`: --cors-origin, --api-public-host, --api-max-concurrent,
// --api-max-body, --api-key.
import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { parseApiKey, parseCorsOrigins, parseMaxBody, parseMaxConcurrent, parsePublicHosts } from '../../../node-peer/cli/option-parsers.ts';

describe('API option parsers', () => {
  it('--cors-origin: origins as browsers serialize them, repeatable and comma lists', () => {
    expect(parseCorsOrigins('HTTP://LocalHost:80', undefined)).toEqual(['http://localhost']);
    expect(parseCorsOrigins('https://a.example, http://localhost:5173/', ['https://b.example'])).toEqual([
      'https://b.example',
      'https://a.example',
      'http://localhost:5173',
    ]);
    for (const bad of ['localhost:5173', 'https://a.example/app', 'file:///tmp/x', '*', 'https://a.example/?q']) {
      expect(() => parseCorsOrigins(bad, undefined)).toThrow(InvalidArgumentError);
    }
  });

  it('--api-public-host: names and addresses, no scheme', () => {
    expect(parsePublicHosts('LLM.example.org,192.0.2.5', undefined)).toEqual(['llm.example.org', '192.0.2.5']);
    expect(parsePublicHosts('[fe80::1]', undefined)).toEqual(['[fe80::1]']);
    expect(() => parsePublicHosts('https://llm.example.org', undefined)).toThrow(InvalidArgumentError);
  });

  it('--api-max-concurrent, --api-max-body, --api-key', () => {
    expect(parseMaxConcurrent('8')).toBe(8);
    for (const bad of ['0', '-1', '1.5', 'many', '5000']) expect(() => parseMaxConcurrent(bad)).toThrow(InvalidArgumentError);
    expect(parseMaxBody('4MiB')).toBe(4 * 1024 * 1024);
    expect(() => parseMaxBody('10')).toThrow(/too small/);
    expect(parseApiKey('sk-1')).toBe('sk-1');
    expect(() => parseApiKey('')).toThrow(InvalidArgumentError);
    expect(() => parseApiKey('a b')).toThrow(InvalidArgumentError);
  });
});
