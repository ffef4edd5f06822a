// Whether a WebRTC connection runs through a TURN relay, from RTCPeerConnection.getStats(): the
// selected candidate pair has a `relay` candidate on either side. Browsers and node-datachannel's
// polyfill both report `transport.selectedCandidatePairId` and the candidates' `candidateType`.

type Stat = Readonly<Record<string, unknown>>;

/** The slice of an RTCStatsReport read here (a Map of stats by id). */
export interface StatsLike {
  values(): Iterable<unknown>;
}

/**
 * `address:port` of an ICE candidate line when it is a relay candidate ("candidate:f 1 udp p
 * ADDRESS PORT typ relay …", with or without SDP's `a=`), else undefined.
 */
export function relayAddressOf(line: string): string | undefined {
  const f = line.trim().replace(/^a=/, '').split(/\s+/);
  return f.length >= 8 && f[0]?.startsWith('candidate:') === true && f[6] === 'typ' && f[7] === 'relay' ? `${f[4]}:${f[5]}` : undefined;
}

/**
 * True/false once a candidate pair is selected; undefined while none is (or the stats lack it).
 * `remoteRelays`: `address:port` of the relay candidates the remote signalled. A remote candidate
 * learned from connectivity checks (`prflx`) at one of them is that relay: the checks came through
 * it before its candidate arrived.
 */
export function relayedFromStats(report: StatsLike, remoteRelays: ReadonlySet<string> = new Set()): boolean | undefined {
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
  const at = `${String(remote?.['ip'] ?? remote?.['address'])}:${String(remote?.['port'])}`;
  return local?.['candidateType'] === 'relay' || remote?.['candidateType'] === 'relay' || (remote?.['candidateType'] === 'prflx' && remoteRelays.has(at));
}
