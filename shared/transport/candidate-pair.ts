// Whether a WebRTC connection runs through a TURN relay, from RTCPeerConnection.getStats(): the
// selected candidate pair has a `relay` candidate on either side. Browsers and node-datachannel's
// polyfill both report `transport.selectedCandidatePairId` and the candidates' `candidateType`.

type Stat = Readonly<Record<string, unknown>>;

/** The slice of an RTCStatsReport read here (a Map of stats by id). */
export interface StatsLike {
  values(): Iterable<unknown>;
}

/** True/false once a candidate pair is selected; undefined while none is (or the stats lack it). */
export function relayedFromStats(report: StatsLike): boolean | undefined {
  const stats = [...report.values()].filter((s): s is Stat => typeof s === 'object' && s !== null);
  const byId = new Map(stats.map((s) => [String(s['id']), s]));
  const transportPair = stats.find((s) => s['type'] === 'transport' && typeof s['selectedCandidatePairId'] === 'string')?.['selectedCandidatePairId'];
  const pair =
    (typeof transportPair === 'string' ? byId.get(transportPair) : undefined) ??
    stats.find((s) => s['type'] === 'candidate-pair' && (s['selected'] === true || (s['nominated'] === true && s['state'] === 'succeeded')));
  if (pair === undefined) return undefined;
  const local = byId.get(String(pair['localCandidateId']));
  const remote = byId.get(String(pair['remoteCandidateId']));
  if (local === undefined && remote === undefined) return undefined;
  return local?.['candidateType'] === 'relay' || remote?.['candidateType'] === 'relay';
}
