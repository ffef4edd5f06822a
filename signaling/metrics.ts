/** Prometheus metrics of one server instance, in its own registry (never the global default). */
import { Counter, Gauge, Registry } from 'prom-client';

export interface SignalingMetrics {
  readonly registry: Registry;
  readonly framesReceived: Counter<'type'>;
  readonly errorsSent: Counter<'code'>;
  readonly signalsRelayed: Counter;
  readonly evictions: Counter;
  readonly closes: Counter<'code'>;
  readonly upgradesRejected: Counter<'reason'>;
}

export function createSignalingMetrics(stats: { connections(): number; peers(): number; rooms(): number }): SignalingMetrics {
  const registry = new Registry();
  const registers = [registry];
  const gauge = (name: string, help: string, read: () => number): void => {
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(read());
      },
    });
  };
  gauge('ringmesh_signal_connections', 'Open WebSocket connections, joined or not', stats.connections);
  gauge('ringmesh_signal_peers', 'Peers joined to a room', stats.peers);
  gauge('ringmesh_signal_rooms', 'Rooms with at least one peer', stats.rooms);
  return {
    registry,
    framesReceived: new Counter({ name: 'ringmesh_signal_frames_received_total', help: 'Valid frames received, by type', labelNames: ['type'], registers }),
    errorsSent: new Counter({ name: 'ringmesh_signal_errors_total', help: 'error frames sent, by code', labelNames: ['code'], registers }),
    signalsRelayed: new Counter({ name: 'ringmesh_signal_signals_relayed_total', help: 'signal frames relayed', registers }),
    evictions: new Counter({ name: 'ringmesh_signal_evictions_total', help: 'Connections cut for missing heartbeats or an overfull output buffer', registers }),
    closes: new Counter({ name: 'ringmesh_signal_closes_total', help: 'Connections closed by the server, by close code', labelNames: ['code'], registers }),
    upgradesRejected: new Counter({
      name: 'ringmesh_signal_upgrades_rejected_total',
      help: 'WebSocket upgrades refused, by reason',
      labelNames: ['reason'],
      registers,
    }),
  };
}
