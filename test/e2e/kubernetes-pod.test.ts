/**
 * The Deployment's pod (deploy/kubernetes) run on this machine: the CLI with the container's args
 * and environment (the image's ENV and the Deployment's env), its ConfigMaps and Secret as files,
 * on a Redis that asks for the Secret's password. Then asked as its clients ask it: kubelet's
 * probes by the pod's address without credentials, Prometheus' scrape with the Secret's token,
 * KEDA through the Service's DNS name; and stopped with SIGTERM as kubelet stops it.
 */
import { networkInterfaces } from 'node:os';
import { rmSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../src/redis/embedded.js';
import { CliProcess, freePort } from '../helpers/cli.js';
import { request } from '../helpers/http-request.js';
import { find, loadManifests, materializePod, only, type Pod } from '../helpers/kubernetes.js';
import { until } from '../helpers/wait.js';

const manifests = loadManifests();
const SECRETS = { 'redis-password': `pw-${Math.random().toString(36).slice(2)}`, 'http-token': `token-${Math.random().toString(36).slice(2)}-0123456789` };
const trigger = only(manifests, 'ScaledObject').spec.triggers[0];

let redis: EmbeddedRedis;
let pod: Pod;
let port: number;
let daemon: CliProcess | undefined;

/** This machine's first non-loopback IPv4 address: what a pod's probes and scrapes are sent to. */
function podAddress(): string {
  const a = Object.values(networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal);
  if (!a) throw new Error('this machine has no non-loopback IPv4 address to play the pod IP');
  return a.address;
}

const ask = (path: string, host: string, token?: string) =>
  request(`http://127.0.0.1:${port}${path}`, { headers: { host, ...(token ? { authorization: `Bearer ${token}` } : {}) } });

beforeAll(async () => {
  redis = await startEmbeddedRedis();
  const admin = new Redis(redis.url);
  await admin.config('SET', 'requirepass', SECRETS['redis-password']);
  admin.disconnect();

  pod = materializePod(manifests, SECRETS);
  port = await freePort();
  // The pool's Redis is this one (the environment beats the file; the password still comes from the Secret's file).
  const env = { ...pod.env, WORKER_POOL_REDIS_URL: redis.url, WORKER_POOL_METRICS_PORT: String(port), WORKER_POOL_LOG_FORMAT: 'json', PATH: process.env['PATH'] ?? '/usr/bin:/bin' };
  // The container's environment alone, none of the test run's.
  const d = (daemon = new CliProcess(pod.args, { env, onlyEnv: true }));
  // Rejects, with its output, if it exits first.
  await d.listening();
  await until(async () => (await ask('/healthz', `127.0.0.1:${port}`).catch(() => undefined))?.status === 200, "the pod's daemon to answer /healthz");
});

afterAll(async () => {
  await daemon?.stop('SIGKILL');
  await redis?.stop();
  if (pod) rmSync(pod.root, { recursive: true, force: true });
});

describe("the Deployment's pod, run here", () => {
  it("answers kubelet's probes at the pod's address without credentials: live, and ready once Redis answers with the Secret's password", async () => {
    const host = `${podAddress()}:${port}`;
    expect((await ask('/healthz', host)).status).toBe(200);
    await until(async () => (await ask('/readyz', host)).status === 200, '/readyz to say ready');
    expect((await ask('/readyz', host)).body).toMatch(/^ready/);
  });

  it("lets Prometheus scrape with the Secret's token, and no one without it", async () => {
    const host = `${podAddress()}:${port}`;
    const scrape = await ask('/metrics', host, SECRETS['http-token']);
    expect(scrape.status).toBe(200);
    expect(scrape.body).toMatch(/^worker_pool_workers\{/m);
    expect((await ask('/metrics', host)).status).toBe(401);
    expect((await ask('/metrics', host, 'wrong-token-0123456789')).status).toBe(401);
  });

  it("answers KEDA, which asks through the Service's DNS name with the token, and no other name", async () => {
    const url = new URL(trigger.metadata.url);
    // What the trigger reads: a number at valueLocation (the pods the fleet needs), once registered.
    await until(async () => JSON.parse((await ask(url.pathname, url.host, SECRETS['http-token'])).body).currentPods === 1, 'the pod in the fleet registry');
    const scaler = await ask(url.pathname, url.host, SECRETS['http-token']);
    expect(scaler.status, scaler.body).toBe(200);
    const answer = JSON.parse(scaler.body) as Record<string, unknown>;
    expect(answer).toMatchObject({ pool: 'default', currentPods: 1 });
    expect(Number.isInteger(answer[trigger.metadata.valueLocation]), scaler.body).toBe(true);
    expect((await ask(url.pathname, url.host)).status).toBe(401);
    const other = await ask(url.pathname, url.host.replace(`.${find(manifests, 'Deployment', 'worker-pool').metadata.namespace}.`, '.elsewhere.'), SECRETS['http-token']);
    expect(other.status).toBe(403);
  });

  it("stops on kubelet's SIGTERM with exit 0, within the grace period", async () => {
    const grace = find(manifests, 'Deployment', 'worker-pool').spec.template.spec.terminationGracePeriodSeconds as number;
    const t0 = Date.now();
    const code = await daemon!.stop('SIGTERM');
    expect(code, daemon!.output.split('\n').slice(-10).join('\n')).toBe(0);
    expect((Date.now() - t0) / 1000).toBeLessThan(grace);
  });
});
