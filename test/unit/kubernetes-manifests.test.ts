/**
 * The Kubernetes manifests (deploy/kubernetes, issue 24): every object validates against its
 * Kubernetes, KEDA or Prometheus Operator schema (kubernetes-models) and type-checks against the
 * same models' TypeScript types (which, unlike the schemas, refuse a misspelt field), and the
 * objects agree with each other and with the daemon: the ScaledObject targets the Deployment and
 * asks a Service that reaches the pods' HTTP port by a name the daemon answers to, with the token
 * the daemon accepts; the probes use the port the daemon listens on; the grace period covers the
 * stop budget; scale-down is slow; the pool's config loads as `worker-pool check-config` loads it,
 * with the environment the container really gets; the PrometheusRule and the dashboard equal the
 * repository's files. (test/e2e/kubernetes-pod.test.ts runs the pod's daemon and probes it.)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Deployment } from 'kubernetes-models/apps/v1';
import { ConfigMap, Service } from 'kubernetes-models/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ScaledObject, TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { PrometheusRule, ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import { loadWithSecrets } from '../../src/config/secret-files.js';
import { hardStopMs } from '../../src/config/stop-budget.js';
import { checkProcessorLoads } from '../../src/supervisor/check-processor.js';
import { argsToFlags, find, loadManifests, materializePod, only, type K8sObject, type Pod } from '../helpers/kubernetes.js';

/** The model (schema) and the TypeScript type of each kind the manifests may hold. */
const MODELS: Record<string, { model: new (o: any) => { validate(): void }; type: [string, string] }> = {
  'v1/ConfigMap': { model: ConfigMap, type: ['kubernetes-models/v1/ConfigMap', 'IConfigMap'] },
  'v1/Service': { model: Service, type: ['kubernetes-models/v1/Service', 'IService'] },
  'apps/v1/Deployment': { model: Deployment, type: ['kubernetes-models/apps/v1/Deployment', 'IDeployment'] },
  'policy/v1/PodDisruptionBudget': { model: PodDisruptionBudget, type: ['kubernetes-models/policy/v1/PodDisruptionBudget', 'IPodDisruptionBudget'] },
  'keda.sh/v1alpha1/ScaledObject': { model: ScaledObject, type: ['@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject', 'IScaledObject'] },
  'keda.sh/v1alpha1/TriggerAuthentication': { model: TriggerAuthentication, type: ['@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication', 'ITriggerAuthentication'] },
  'monitoring.coreos.com/v1/ServiceMonitor': { model: ServiceMonitor, type: ['@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor', 'IServiceMonitor'] },
  'monitoring.coreos.com/v1/PrometheusRule': { model: PrometheusRule, type: ['@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule', 'IPrometheusRule'] },
};
const modelOf = (o: K8sObject) => MODELS[`${o.apiVersion}/${o.kind}`];

const manifests = loadManifests();
const deployment = find(manifests, 'Deployment', 'worker-pool');
const podSpec = deployment.spec.template.spec;
const container = podSpec.containers[0];
const scaledObject = only(manifests, 'ScaledObject');
const trigger = scaledObject.spec.triggers[0];
const secretVolume = (podSpec.volumes as any[]).find((v) => v.secret);
const SECRETS = { 'redis-password': 'redis-secret-for-the-test', 'http-token': 'a-token-of-at-least-sixteen-characters' };

const pods: Pod[] = [];
afterAll(() => {
  for (const p of pods) rmSync(p.root, { recursive: true, force: true });
});

/** The pod made real here, with its environment as the container gets it. */
function pod(): Pod {
  const p = materializePod(manifests, SECRETS);
  pods.push(p);
  return p;
}

/** The pool's config as the pod's daemon loads it (flags from args, env, files from the mounts). */
function podConfig() {
  const p = pod();
  return { pod: p, config: loadWithSecrets({ flags: argsToFlags(p.args), env: p.env, cwd: '/', requireProcessor: true }) };
}

/** The container port a probe or Service names (by name or number). */
function containerPort(port: string | number): number {
  const found = (container.ports as Array<{ name?: string; containerPort: number }>).find((p) => p.name === port || p.containerPort === port);
  if (!found) throw new Error(`port ${port} is not a port of container ${container.name}`);
  return found.containerPort;
}

describe('Kubernetes manifests', () => {
  it('every object validates against its schema (and a broken one does not)', () => {
    expect(manifests.length).toBeGreaterThanOrEqual(10);
    for (const { file, object } of manifests) {
      const m = modelOf(object);
      expect(m, `${file}: ${object.apiVersion} ${object.kind} has no model here`).toBeDefined();
      expect(() => new m!.model(object).validate(), `${file}: ${object.kind} ${object.metadata.name}`).not.toThrow();
      expect(object.metadata.namespace, `${file}: ${object.kind} ${object.metadata.name} namespace`).toBe('worker-pool');
    }
    const broken = structuredClone(deployment);
    broken.spec.template.spec.containers[0].ports[0].containerPort = 'http';
    expect(() => new Deployment(broken).validate()).toThrow(/containerPort must be integer/);
  });

  it('every object type-checks against the models\' TypeScript types, which refuse unknown fields', () => {
    const dir = mkdtempSync(path.join('node_modules', '.cache-wp-manifests-'));
    try {
      const imports = manifests.map(({ object }, i) => `import type { ${modelOf(object)!.type[1]} as T${i} } from '${modelOf(object)!.type[0]}';`);
      const bodies: string[] = [];
      const owners: Array<{ line: number; what: string }> = [];
      let line = imports.length + 1;
      manifests.forEach(({ file, object }, i) => {
        const text = `export const o${i}: T${i} = ${JSON.stringify(object, null, 2)};`;
        owners.push({ line, what: `${file}: ${object.kind} ${object.metadata.name}` });
        bodies.push(text);
        line += text.split('\n').length;
      });
      writeFileSync(path.join(dir, 'manifests.ts'), [...imports, ...bodies].join('\n') + '\n');
      writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, types: [] }, files: ['manifests.ts'] }));
      const tsc = () => spawnSync(process.execPath, [path.resolve('node_modules/typescript/bin/tsc'), '-p', dir], { encoding: 'utf8' });
      const r = tsc();
      // Each error with the manifest it points into.
      const where = (n: number) => owners.filter((o) => o.line <= n).at(-1)?.what ?? 'imports';
      const errors = r.stdout.split('\n').filter((l) => l.includes('error TS')).map((l) => `${where(Number(/\((\d+),/.exec(l)?.[1] ?? 0))}: ${l.replace(/^.*error /, '')}`);
      expect(errors).toEqual([]);
      expect(r.status, r.stdout + r.stderr).toBe(0);

      // The same check refuses a misspelt field.
      writeFileSync(path.join(dir, 'manifests.ts'), `import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';\nexport const d: IDeployment = ${JSON.stringify({ ...deployment, spec: { ...deployment.spec, template: { spec: { containers: [{ name: 'x', readinessProb: {} }] } } } })};\n`);
      const typo = tsc().stdout;
      expect(typo, typo).toMatch(/readinessProb\W* does not exist in type 'IContainer'/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the ScaledObject scales the Deployment on /scaler through the Service, which reaches the pods\' HTTP port', () => {
    expect(scaledObject.spec.scaleTargetRef).toMatchObject({ apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name });
    expect(deployment.spec.replicas, 'KEDA owns replicas: a replicas field would be reset by every kubectl apply').toBeUndefined();
    expect(scaledObject.spec.triggers).toHaveLength(1);
    expect(trigger).toMatchObject({ type: 'metrics-api', metricType: 'AverageValue', metadata: { valueLocation: 'desiredPods', targetValue: '1' } });

    const url = new URL(trigger.metadata.url);
    expect(url.pathname).toBe('/scaler');
    const [serviceName, namespace, svc] = url.hostname.split('.');
    expect(svc).toBe('svc');
    expect(namespace).toBe(deployment.metadata.namespace);
    const service = find(manifests, 'Service', serviceName!);
    const podLabels = deployment.spec.template.metadata.labels;
    expect(podLabels).toMatchObject(service.spec.selector);
    expect(podLabels).toMatchObject(deployment.spec.selector.matchLabels);
    const servicePort = (service.spec.ports as any[]).find((p) => p.port === Number(url.port));
    expect(servicePort, `Service ${serviceName} has port ${url.port}`).toBeDefined();

    const { config } = podConfig();
    expect(containerPort(servicePort.targetPort)).toBe(config.metricsPort);
    // The daemon answers only to names it knows (the Host check): KEDA's is the Service's DNS name.
    expect(config.httpAccess?.hostNames).toContain(url.hostname);
  });

  it('KEDA and Prometheus send the token the daemon accepts, from the Secret the pod mounts', () => {
    const { pod: p, config } = podConfig();
    expect(config.httpAccess?.authRequired).toBe(true);
    expect(config.httpAccess?.bearerTokens).toContain(SECRETS['http-token']);
    // Which key of the Secret is the token file the access file names.
    const tokenFile = readFileSync(p.local('/etc/worker-pool/http.yml'), 'utf8').match(/bearer_token_file: (\S+)/)![1]!;
    const mount = (container.volumeMounts as any[]).find((m) => m.name === secretVolume.name);
    const item = (secretVolume.secret.items as any[]).find((i) => p.local(path.posix.join(mount.mountPath, i.path)) === tokenFile);
    expect(item, 'the access file\'s bearer_token_file is a file of the mounted Secret').toBeDefined();
    const secret = { name: secretVolume.secret.secretName, key: item.key };

    const auth = find(manifests, 'TriggerAuthentication', trigger.authenticationRef.name);
    expect(trigger.metadata.authMode).toBe('bearer');
    expect(auth.spec.secretTargetRef).toEqual([{ parameter: 'token', ...secret }]);

    const monitor = only(manifests, 'ServiceMonitor');
    const service = find(manifests, 'Service', new URL(trigger.metadata.url).hostname.split('.')[0]!);
    expect(service.metadata.labels).toMatchObject(monitor.spec.selector.matchLabels);
    const endpoint = monitor.spec.endpoints[0];
    expect((service.spec.ports as any[]).map((sp) => sp.name)).toContain(endpoint.port);
    expect(endpoint).toMatchObject({ path: '/metrics', authorization: { type: 'Bearer', credentials: secret } });
    // The alert rules expect job="worker-pool": the job of a ServiceMonitor's targets is the Service's name.
    expect(monitor.spec.jobLabel).toBeUndefined();
    expect(service.metadata.name).toBe('worker-pool');

    // docs/kubernetes.md says how to make the Secret: with the keys the manifests use.
    const docs = readFileSync('docs/kubernetes.md', 'utf8');
    const create = /kubectl create secret generic (\S+)((?: *\\?\n? *--\S+)+)/.exec(docs);
    expect(create?.[1], 'docs/kubernetes.md makes the Secret with kubectl create secret generic').toBe(secret.name);
    const keys = [...create![2]!.matchAll(/--from-(?:file|literal)=([\w-]+)=/g)].map((m) => m[1]);
    expect(keys.sort()).toEqual((secretVolume.secret.items as any[]).map((i) => i.key).sort());
    expect(secretVolume.secret.defaultMode).toBe(0o440);
    expect(podSpec.securityContext.fsGroup, 'the Secret\'s files belong to the pod user\'s group').toBe(podSpec.securityContext.runAsGroup);
  });

  it('the probes ask /healthz and /readyz on the port the daemon listens on, on every address', () => {
    const { config } = podConfig();
    for (const [probe, path] of [['startupProbe', '/healthz'], ['livenessProbe', '/healthz'], ['readinessProbe', '/readyz']] as const) {
      expect(container[probe]?.httpGet?.path, probe).toBe(path);
      expect(containerPort(container[probe].httpGet.port), `${probe} port`).toBe(config.metricsPort);
    }
    expect(config.metricsHost).toBe('0.0.0.0');
  });

  it('the daemon is told the grace period as its stop budget, with no preStop hook to spend it first, and its stop ends before it', () => {
    const { config } = podConfig();
    expect(container.lifecycle?.preStop).toBeUndefined();
    expect(config.stopBudget).toBe(podSpec.terminationGracePeriodSeconds);
    // The stop the daemon plans, and the moment it leaves whatever still waits, are before the kill.
    expect(config.stopTimeout).toBeLessThan(podSpec.terminationGracePeriodSeconds);
    expect(hardStopMs(config)).toBeLessThan(podSpec.terminationGracePeriodSeconds * 1000);
  });

  it('scale-down removes at most one pod a minute, after a stabilization window of at least twice the pool\'s window', () => {
    const { config } = podConfig();
    const down = scaledObject.spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown;
    expect(down.policies.length).toBeGreaterThan(0);
    for (const policy of down.policies) {
      expect(policy.type).toBe('Pods');
      expect(policy.value / policy.periodSeconds).toBeLessThanOrEqual(1 / 60);
    }
    if (down.policies.length > 1) expect(down.selectPolicy).toBe('Min');
    expect(down.stabilizationWindowSeconds).toBeGreaterThanOrEqual(2 * config.window);
  });

  it('the fleet wakes from its one pod, and the most pods KEDA makes are the most the fleet cap lets work', () => {
    const { config } = podConfig();
    // KEDA cannot ask a pod that does not exist: one always runs (its workers go to zero).
    expect(scaledObject.spec.minReplicaCount).toBeGreaterThanOrEqual(1);
    expect(config.minWorkers).toBe(0);
    expect(config.fleetMaxWorkers).toBeDefined();
    expect(scaledObject.spec.maxReplicaCount).toBe(Math.ceil(config.fleetMaxWorkers! / config.maxWorkers));
  });

  it('the pool\'s config loads as check-config loads it, with the environment the container gets, and its processor loads', async () => {
    const { pod: p, config } = podConfig();
    expect(config.name).toBe('default');
    expect(config.processor).toBe(p.local('/app/jobs/jobs.mjs'));
    expect(config.redisUrl).toContain(encodeURIComponent(SECRETS['redis-password']));
    expect(await checkProcessorLoads(config.processor!)).toMatchObject({ ok: true });
    // The Service's links in the environment would stop the daemon (WORKER_POOL_PORT is no option).
    expect(podSpec.enableServiceLinks).toBe(false);
    const linked = structuredClone(deployment);
    linked.spec.template.spec.enableServiceLinks = true;
    const withLinks = materializePod([...manifests.filter((m) => m.object !== deployment), { file: 'x', object: linked }], SECRETS);
    pods.push(withLinks);
    expect(() => loadConfig({ flags: argsToFlags(withLinks.args), env: withLinks.env, cwd: '/' })).toThrow(/WORKER_POOL_(SERVICE|PORT)\w*: unknown variable/);
  });

  it('the PrometheusRule holds the repository\'s alert rules and the dashboard ConfigMap its dashboard, as the generator writes them', () => {
    const rules = parse(readFileSync('config/prometheus/worker-pool.rules.yml', 'utf8')) as { groups: unknown };
    expect(only(manifests, 'PrometheusRule').spec.groups).toEqual(rules.groups);
    const dashboard = find(manifests, 'ConfigMap', 'worker-pool-dashboard');
    expect(JSON.parse(dashboard.data!['worker-pool.json']!)).toEqual(JSON.parse(readFileSync('config/grafana/worker-pool.json', 'utf8')));
    expect(dashboard.metadata.labels).toMatchObject({ grafana_dashboard: '1' });
    const r = spawnSync(process.execPath, ['scripts/kubernetes-monitoring.mjs', '--check'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('the image and its user: the tag is this version, the pod runs as the image\'s user, read-only', () => {
    const version = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
    expect(container.image).toMatch(new RegExp(`/bullmq-worker-pool:${version.replace(/\./g, '\\.')}$`));
    const dockerfile = readFileSync('Dockerfile', 'utf8');
    const user = /^USER (\d+):(\d+)$/m.exec(dockerfile)!;
    expect(podSpec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: Number(user[1]), runAsGroup: Number(user[2]) });
    expect(container.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
  });
});
