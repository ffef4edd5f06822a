import { describe, expect, it } from 'vitest';
import { checkReport, jsonBytes } from '../../../signaling/report-caps.ts';
import { TokenBucket } from '../../../signaling/token-bucket.ts';

const caps = { maxReportKinds: 2, maxReportBytes: 100 };
const bucket = (n = 100): TokenBucket => new TokenBucket(n, 0, 0);
const reason = (r: ReturnType<typeof checkReport>): string => (r.ok ? 'ok' : r.reason);

describe('report caps', () => {
  it('bounds the distinct kinds per member, a held kind may always be replaced', () => {
    const held = new Set(['ready', 'pieces']);
    expect(reason(checkReport('ready', { planEpoch: 1 }, held, bucket(), 0, caps))).toBe('ok');
    expect(reason(checkReport('third', 1, held, bucket(), 0, caps))).toMatch(/at most 2 report kinds/);
  });

  it('bounds the bytes of a report, except a model report (sized by the model check)', () => {
    expect(reason(checkReport('ready', 'x'.repeat(200), new Set(), bucket(), 0, caps))).toMatch(/over the 100-byte limit/);
    expect(reason(checkReport('model', { manifest: 'x'.repeat(200) }, new Set(), bucket(), 0, caps))).toBe('ok');
    expect(jsonBytes(undefined)).toBe(0);
    expect(jsonBytes('é')).toBe(4); // UTF-8 bytes, quotes included
  });

  it('limits the report rate and refuses kinds outside an allow-list', () => {
    const rate = bucket(2);
    const results = [0, 1, 2].map(() => reason(checkReport('ready', 1, new Set(), rate, 0, caps)));
    expect(results).toEqual(['ok', 'ok', expect.stringMatching(/report rate/)]);
    expect(reason(checkReport('other', 1, new Set(), bucket(), 0, { ...caps, allowedKinds: new Set(['ready']) }))).toMatch(/not one this server takes/);
  });
});
