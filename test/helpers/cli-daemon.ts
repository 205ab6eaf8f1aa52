/** The daemon as users run it: `bin/worker-pool` in a child process, its HTTP address read from its log. */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { once } from 'node:events';

export interface CliDaemon {
  proc: ChildProcess;
  /** http://127.0.0.1:PORT of its endpoints. */
  url: string;
  /** Every log line so far (JSON). */
  lines: string[];
  /** SIGTERM, then wait for the exit code. */
  stop(): Promise<number | null>;
}

/** Start `worker-pool` with these flags (plus --metrics-port 0 --log-format json) and wait for its HTTP address. */
export async function startCliDaemon(args: string[], timeoutMs = 30_000): Promise<CliDaemon> {
  const proc = spawn(process.execPath, ['bin/worker-pool', ...args, '--metrics-port', '0', '--log-format', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let buffered = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`daemon did not start within ${timeoutMs} ms:\n${lines.join('\n')}`)), timeoutMs);
    proc.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      let nl;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        lines.push(line);
        try {
          const rec = JSON.parse(line) as { msg?: string; http?: string };
          if (rec.msg === 'worker-pool starting' && rec.http) {
            clearTimeout(timer);
            resolve(rec.http);
          }
        } catch {
          // not JSON (a child's stray output): keep it in lines
        }
      }
    });
    proc.stderr!.on('data', (chunk: Buffer) => lines.push(chunk.toString()));
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`daemon exited with ${code} before listening:\n${lines.join('\n')}`));
    });
  });
  return {
    proc,
    url,
    lines,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      const exited = once(proc, 'exit');
      proc.kill('SIGTERM');
      const [code] = (await exited) as [number | null];
      return code;
    },
  };
}

/** A TCP port free right now on 127.0.0.1 (for a server that cannot be given port 0). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  server.close();
  await once(server, 'close');
  return port;
}
