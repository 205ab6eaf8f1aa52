/**
 * A TCP proxy in front of a Redis that can make chosen connections go quiet: they stay open, but
 * nothing passes either way any more (as behind a NAT or load balancer that dropped their state).
 * New connections pass normally. Connections are chosen by the local port of their upstream
 * socket, which is the `addr` Redis shows for them in CLIENT LIST.
 */
import net from 'node:net';

export interface QuietProxy {
  port: number;
  /** Stop forwarding on the connections whose upstream local port is one of these. */
  silence(upstreamPorts: Iterable<number>): number;
  close(): Promise<void>;
}

export async function startQuietProxy(targetPort: number): Promise<QuietProxy> {
  const pairs = new Map<number, { down: net.Socket; up: net.Socket }>();
  const server = net.createServer((down) => {
    const up = net.connect(targetPort, '127.0.0.1');
    up.once('connect', () => pairs.set(up.localPort!, { down, up }));
    down.pipe(up);
    up.pipe(down);
    const end = () => {
      down.destroy();
      up.destroy();
    };
    down.on('error', end).on('close', end);
    up.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    silence(ports) {
      let n = 0;
      for (const p of ports) {
        const pair = pairs.get(p);
        if (!pair) continue;
        pair.down.unpipe(pair.up);
        pair.up.unpipe(pair.down);
        pair.down.pause();
        pair.up.pause();
        n++;
      }
      return n;
    },
    async close() {
      for (const { down, up } of pairs.values()) (down.destroy(), up.destroy());
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
