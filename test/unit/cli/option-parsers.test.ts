import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { formatBytes, parseByteSize, parseIceServer, parseKvDtype, parsePort, parseSignalUrl, toIceServer } from '../../../node-peer/cli/option-parsers.ts';

describe('node-peer option parsers', () => {
  it.each([
    ['8GiB', 8 * 1024 ** 3],
    ['512MiB', 512 * 1024 ** 2],
    ['1.5GB', 1.5e9],
    ['4g', 4 * 1024 ** 3],
    ['1073741824', 1073741824],
    ['64 KiB', 65536],
    ['0', 0],
  ])('parseByteSize(%s) = %d', (text, bytes) => expect(parseByteSize(text)).toBe(bytes));

  it.each(['lots', '8XB', '-1GiB', '', '1e3'])('parseByteSize(%s) throws', (text) => expect(() => parseByteSize(text)).toThrow(InvalidArgumentError));

  it('formats sizes in binary units', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(65536)).toBe('64.0 KiB');
    expect(formatBytes(3 * 1024 ** 3)).toBe('3.0 GiB');
  });

  it('--kv-dtype: fp32 or fp16, anything else named as not a KV cache type', () => {
    expect(parseKvDtype('fp16')).toBe('fp16');
    expect(parseKvDtype(' FP32 ')).toBe('fp32');
    for (const bad of ['bogus', 'bf16', 'int8', '']) expect(() => parseKvDtype(bad)).toThrow(InvalidArgumentError);
    expect(() => parseKvDtype('bogus')).toThrow('"bogus" is not a KV cache type: expected fp32 or fp16');
  });

  it('ports and signaling URLs', () => {
    expect(parsePort('0')).toBe(0);
    expect(parsePort('8080')).toBe(8080);
    for (const bad of ['70000', '-1', '80.5', 'http']) expect(() => parsePort(bad)).toThrow(InvalidArgumentError);
    expect(parseSignalUrl('wss://ring.example.org/signal')).toBe('wss://ring.example.org/signal');
    expect(() => parseSignalUrl('https://ring.example.org/signal')).toThrow(/must start with ws:\/\/ or wss:\/\//);
    expect(() => parseSignalUrl('nowhere')).toThrow(/is not a URL/);
  });

  it('ICE servers: STUN as is, TURN only with credentials, which move out of the URL', () => {
    expect(parseIceServer('turn:u:p@h:3478', parseIceServer('stun:h:3478', undefined))).toEqual(['stun:h:3478', 'turn:u:p@h:3478']);
    expect(() => parseIceServer('turn:h:3478', undefined)).toThrow(/has no credentials/);
    expect(() => parseIceServer('http://h', undefined)).toThrow(/is not an ICE server URL/);
    expect(toIceServer('stun:h:3478')).toEqual({ urls: 'stun:h:3478' });
    expect(toIceServer('turns:alice:s%40cret@turn.example.org:5349?transport=tcp')).toEqual({
      urls: 'turns:turn.example.org:5349?transport=tcp',
      username: 'alice',
      credential: 's@cret',
    });
  });
});
