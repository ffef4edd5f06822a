// What `node-peer start` prints: the download bar as cli-progress really renders it (on a stream
// that says it is a terminal), the human event lines, and the JSON lines for logs and scripts.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { formatEvent, parseLogFormat, resolveLogFormat } from '../../../node-peer/cli/pretty-event.ts';
import { createStartReporter } from '../../../node-peer/cli/start-reporter.ts';
import type { NodePeerStatus } from '../../../node-peer/peer/node-peer-types.ts';

const MB = 1024 * 1024;
const MODEL = 'a'.repeat(64);

/** A stream that claims to be a terminal (cli-progress draws only there), collecting what is written. */
function fakeTerminal(isTTY: boolean): { out: NodeJS.WriteStream; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString()));
  Object.assign(stream, { isTTY, columns: 200, rows: 40 });
  return { out: stream as unknown as NodeJS.WriteStream, text: () => text };
}

const status = (done: number, total: number): NodePeerStatus =>
  ({
    members: 2,
    layers: { start: 0, end: 2 },
    pieces: { bytesDone: done, bytesTotal: total, fromCache: 1 * MB, fromPeers: done - 1 * MB, fromOrigin: 0 },
  }) as unknown as NodePeerStatus;

describe('the download bar (pretty, on a terminal)', () => {
  it('shows MB done / MB total, not the raw byte count cli-progress keeps as {total}', () => {
    const t = fakeTerminal(true);
    const r = createStartReporter(t.out, { format: 'pretty' });
    r.pieces(MODEL, status(23.5 * MB, 24_658_944));
    r.stop();
    const drawn = t.text();
    expect(drawn).toContain('23.5/23.5 MB');
    expect(drawn).toContain('cache 1.0 peers 22.5 origin 0.0 MB');
    expect(drawn).toContain('model aaaaaaaa');
    expect(drawn).not.toContain('24658944');
  });
});

describe('event lines', () => {
  it('pretty: one human line per event, sizes in binary units and long ids cut short', () => {
    const t = fakeTerminal(false);
    const r = createStartReporter(t.out, { format: 'pretty' });
    r.event('joined', { peerId: 'HBD7lUiTRTE7eDCP', modelId: MODEL, model: 'demo-2x64-seed0', memoryBytes: 64 * MB });
    r.pieces(MODEL, status(2 * MB, 2 * MB)); // off a terminal: a progress line, no bar
    const lines = t.text().trimEnd().split('\n');
    expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d joined {7}peerId=HBD7lUiTRTE7eDCP modelId=aaaaaaaaaaaa… model=demo-2x64-seed0 memoryBytes=64\.0 MiB$/);
    expect(lines[1]).toMatch(/^\d\d:\d\d:\d\d progress {5}2\.0 MiB \/ 2\.0 MiB \(100%\) — cache 1\.0 MiB, peers 1\.0 MiB, origin 0 B /);
    expect(lines[2]).toMatch(/^\d\d:\d\d:\d\d ready .*layers=\{"start":0,"end":2\}$/);
    expect(t.text()).not.toContain('{"t":');
  });

  it('json: one object per line with t and event, also on a terminal', () => {
    const t = fakeTerminal(true);
    const r = createStartReporter(t.out, { format: 'json' });
    r.event('joined', { peerId: 'p1', memoryBytes: 64 * MB });
    r.pieces(MODEL, status(2 * MB, 2 * MB));
    const events = t
      .text()
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(events.map((e) => e['event'])).toEqual(['joined', 'progress', 'ready']);
    expect(events[0]).toMatchObject({ peerId: 'p1', memoryBytes: 64 * MB });
    expect(typeof events[0]?.['t']).toBe('number');
  });

  it('formatEvent quotes text with spaces and writes nested values as JSON', () => {
    expect(formatEvent('device', { device: 'cpu', reason: 'no cuda: missing', ring: ['a', 'b'] }, 0)).toMatch(
      /^\d\d:\d\d:\d\d device {7}device=cpu reason="no cuda: missing" ring=\["a","b"\]$/,
    );
  });
});

describe('--log-format', () => {
  it('auto is pretty on a terminal and json otherwise; pretty and json force either', () => {
    expect(resolveLogFormat('auto', true)).toBe('pretty');
    expect(resolveLogFormat('auto', false)).toBe('json');
    expect(resolveLogFormat('pretty', false)).toBe('pretty');
    expect(resolveLogFormat('json', true)).toBe('json');
  });

  it('refuses anything else, naming the choices', () => {
    expect(parseLogFormat('json')).toBe('json');
    expect(() => parseLogFormat('yaml')).toThrow(/"yaml" is not a log format: expected auto, pretty, json/);
  });
});
