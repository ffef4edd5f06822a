// Two peer networks that cannot reach each other directly, and a server address both reach: the
// shape of two peers behind NATs with a TURN server between them (docs/operating.md, "Peers
// behind NAT: TURN"). Built inside the test's own loopback-only namespace (scripts/test.sh):
//
//   namespace A: 192.0.2.2/24    ── veth ── 192.0.2.1    ┐ this namespace routes between them and
//   namespace B: 198.51.100.2/24 ── veth ── 198.51.100.1 ┘ holds the servers' address 203.0.113.1
//
// Forwarding is on, so only the nft forward rules stop A and B from reaching each other: they DROP
// (and count) every packet between the two networks. Packets to 203.0.113.1 are not forwarded, so
// signaling and the TURN server stay reachable from both.
import { readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { loopbackOnly, NetNamespace, sh } from './net-namespace.ts';

export const SERVER_IP = '203.0.113.1';
const TABLE = 'ringmesh_nat_test';
const FORWARD = '/proc/sys/net/ipv4/ip_forward';

interface Side {
  readonly ns: NetNamespace;
  /** The peer's address inside its namespace. */
  readonly ip: string;
  readonly hostIf: string;
}

export interface NatTopology {
  readonly serverIp: string;
  readonly a: Side;
  readonly b: Side;
  /** Packets the DROP rules between A and B have dropped so far. */
  droppedPackets(): number;
  /** Removes the rules, links and address, and ends both namespaces' holders. Idempotent. */
  close(): void;
}

const RULES = `table inet ${TABLE} {
  chain forward {
    type filter hook forward priority 0; policy accept;
    ip saddr 192.0.2.0/24 ip daddr 198.51.100.0/24 counter drop
    ip saddr 198.51.100.0/24 ip daddr 192.0.2.0/24 counter drop
  }
}
`;

export class TopologyRefusedError extends Error {
  override readonly name = 'TopologyRefusedError';
}

async function side(net: string, hostIf: string, peerIf: string): Promise<Side> {
  const ns = await NetNamespace.create();
  const gateway = `${net}.1`;
  const ip = `${net}.2`;
  sh('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', peerIf]);
  sh('ip', ['link', 'set', peerIf, 'netns', String(ns.pid)]);
  sh('ip', ['addr', 'add', `${gateway}/24`, 'dev', hostIf]);
  sh('ip', ['link', 'set', hostIf, 'up']);
  ns.exec('ip', ['addr', 'add', `${ip}/24`, 'dev', peerIf]);
  ns.exec('ip', ['link', 'set', peerIf, 'up']);
  ns.exec('ip', ['route', 'add', 'default', 'via', gateway]);
  return { ns, ip, hostIf };
}

export async function buildNatTopology(): Promise<NatTopology> {
  // Routes, forwarding and firewall rules change this namespace: never a host's real one.
  if (!loopbackOnly())
    throw new TopologyRefusedError(
      'this namespace has interfaces besides lo: run the test inside a loopback-only namespace (scripts/test.sh does), it changes routes and firewall rules',
    );
  const sides: Side[] = [];
  const forwardBefore = readFileSync(FORWARD, 'utf8').trim();
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    const quiet = (f: () => unknown): void => {
      try {
        f();
      } catch {
        /* already gone */
      }
    };
    quiet(() => sh('nft', ['delete', 'table', 'inet', TABLE]));
    for (const s of sides) {
      quiet(() => sh('ip', ['link', 'del', s.hostIf]));
      s.ns.close();
    }
    quiet(() => sh('ip', ['addr', 'del', `${SERVER_IP}/32`, 'dev', 'lo']));
    quiet(() => writeFileSync(FORWARD, forwardBefore));
  };
  try {
    sh('ip', ['addr', 'add', `${SERVER_IP}/32`, 'dev', 'lo']);
    sides.push(await side('192.0.2', 'rmnat-a0', 'rmnat-a1'));
    sides.push(await side('198.51.100', 'rmnat-b0', 'rmnat-b1'));
    writeFileSync(FORWARD, '1');
    execFileSync('nft', ['-f', '-'], { input: RULES, stdio: ['pipe', 'ignore', 'pipe'], timeout: 30_000 });
  } catch (err) {
    close();
    throw err;
  }
  return {
    serverIp: SERVER_IP,
    a: sides[0]!,
    b: sides[1]!,
    droppedPackets: () => droppedPackets(sh('nft', ['-j', 'list', 'table', 'inet', TABLE])),
    close,
  };
}

interface NftJson {
  readonly nftables: ReadonlyArray<{ readonly rule?: { readonly expr: ReadonlyArray<{ readonly counter?: { readonly packets: number } }> } }>;
}

function droppedPackets(json: string): number {
  let n = 0;
  for (const item of (JSON.parse(json) as NftJson).nftables) for (const e of item.rule?.expr ?? []) n += e.counter?.packets ?? 0;
  return n;
}
