import { describe, expect, it } from 'vitest';
import { parseStartOptions, RANDOM_DEFAULTS, randomModelDirName, StartOptionError } from '../../../scripts/start-options.ts';

describe('npm start flags', () => {
  it('serves the built-in aidreams model without flags', () => {
    expect(parseStartOptions([])).toEqual({ help: false, model: { kind: 'aidreams' } });
    expect(parseStartOptions(['--model', 'aidreams'])).toEqual({ help: false, model: { kind: 'aidreams' } });
  });

  it('--model random keeps the old demo shape unless sized', () => {
    expect(parseStartOptions(['--model', 'random'])).toEqual({ help: false, model: { kind: 'random', shape: RANDOM_DEFAULTS } });
    const sized = parseStartOptions(['--model', 'random', '--layers', '24', '--hidden', '1024', '--heads', '16', '--seed', '7']);
    expect(sized).toEqual({ help: false, model: { kind: 'random', shape: { ...RANDOM_DEFAULTS, layers: 24, hidden: 1024, heads: 16, kvHeads: 8, seed: 7 } } });
    // An odd head count gets plain multi-head attention; --kv-heads says otherwise.
    expect(parseStartOptions(['--model=random', '--heads', '3', '--hidden', '96'])).toMatchObject({ model: { shape: { heads: 3, kvHeads: 3 } } });
    expect(parseStartOptions(['--model', 'random', '--kv-heads', '1'])).toMatchObject({ model: { shape: { heads: 8, kvHeads: 1 } } });
  });

  it('anything else after --model is a package directory', () => {
    expect(parseStartOptions(['--model', '/data/llama-q4'])).toEqual({ help: false, model: { kind: 'dir', dir: '/data/llama-q4' } });
  });

  it('--help', () => {
    expect(parseStartOptions(['--help'])).toEqual({ help: true });
    expect(parseStartOptions(['-h'])).toEqual({ help: true });
  });

  it.each([
    [['--layer', '2'], /Unknown option '--layer'/],
    [['--layers', '2'], /--layers sizes the random model: add --model random/],
    [['--model', 'random', '--layers', '0'], /--layers 0: expected an integer ≥ 1/],
    [['--model', 'random', '--hidden', '2.5'], /--hidden 2.5: expected an integer/],
    [['--model', 'random', '--vocab', '100'], /--vocab 100: expected an integer ≥ 259/],
    [['--model', 'random', '--seed', '4294967296'], /--seed 4294967296: expected at most 4294967295/],
    [['--model', ''], /--model needs a value/],
    [['extra'], /Unexpected argument 'extra'/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseStartOptions(argv)).toThrow(StartOptionError);
    expect(() => parseStartOptions(argv)).toThrow(message);
  });

  it('names one package directory per random shape', () => {
    expect(randomModelDirName(RANDOM_DEFAULTS)).toBe('demo-8x256-h8kv4-v512-c1024-seed0');
  });
});
