// A minimal STUN server (RFC 5389 Binding only) on 127.0.0.1 — a test utility. Browser↔browser
// in a lo-only namespace needs it so each side gets a candidate (docs/troubleshooting.md); product code never
// configures a STUN server by default.
import { createSocket } from 'node:dgram';
import { once } from 'node:events';

const MAGIC_COOKIE = 0x2112a442;

export async function startLoopbackStunServer(port = 0): Promise<{ url: string; port: number; close(): Promise<void> }> {
  const socket = createSocket('udp4');
  socket.on('message', (msg, rinfo) => {
    // Binding request: type 0x0001, cookie at offset 4, 12-byte transaction id at offset 8.
    if (msg.length < 20 || msg.readUInt16BE(0) !== 0x0001 || msg.readUInt32BE(4) !== MAGIC_COOKIE) return;
    const res = Buffer.alloc(32);
    res.writeUInt16BE(0x0101, 0); // Binding success response
    res.writeUInt16BE(12, 2); // one attribute: 4-byte header + 8-byte value
    res.writeUInt32BE(MAGIC_COOKIE, 4);
    msg.copy(res, 8, 8, 20);
    res.writeUInt16BE(0x0020, 20); // XOR-MAPPED-ADDRESS
    res.writeUInt16BE(8, 22);
    res.writeUInt8(0x01, 25); // IPv4
    res.writeUInt16BE(rinfo.port ^ (MAGIC_COOKIE >>> 16), 26);
    const ip = rinfo.address.split('.').reduce((a, o) => (a << 8) | Number(o), 0) >>> 0;
    res.writeUInt32BE((ip ^ MAGIC_COOKIE) >>> 0, 28);
    socket.send(res, rinfo.port, rinfo.address);
  });
  socket.bind(port, '127.0.0.1');
  await once(socket, 'listening');
  const bound = socket.address().port;
  return {
    url: `stun:127.0.0.1:${bound}`,
    port: bound,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
