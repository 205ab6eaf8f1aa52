/**
 * The Kubernetes manifests (deploy/kubernetes) as the tests read them: every object of every YAML
 * file, and the pod of the Deployment made real on this machine: its mounted ConfigMaps and Secret
 * written to a directory, its paths moved there, and its environment as the container gets it
 * (the image's ENV lines from the Dockerfile, the Deployment's env, the Service links when on).
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

export const MANIFESTS = 'deploy/kubernetes';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: any;
  data?: Record<string, string>;
}

export interface Manifest {
  file: string;
  object: K8sObject;
}

/** Every object in deploy/kubernetes and its subdirectories, in file order. */
export function loadManifests(dir = MANIFESTS): Manifest[] {
  const out: Manifest[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...loadManifests(file));
    else if (/\.ya?ml$/.test(entry.name)) {
      // YAML 1.1, as kubectl reads it (0440 is octal there).
      for (const doc of parseAllDocuments(readFileSync(file, 'utf8'), { version: '1.1' })) {
        if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}`);
        const object = doc.toJS() as K8sObject | null;
        if (object) out.push({ file, object });
      }
    }
  }
  return out;
}

export function find(manifests: Manifest[], kind: string, name: string): K8sObject {
  const found = manifests.find((m) => m.object.kind === kind && m.object.metadata.name === name);
  if (!found) throw new Error(`no ${kind} named ${name} in ${MANIFESTS}`);
  return found.object;
}

export function only(manifests: Manifest[], kind: string): K8sObject {
  const all = manifests.filter((m) => m.object.kind === kind);
  if (all.length !== 1) throw new Error(`expected one ${kind} in ${MANIFESTS}, found ${all.length}`);
  return all[0]!.object;
}

/** The ENV of the Dockerfile's last stage (the image's environment), in order. */
export function imageEnv(dockerfile = 'Dockerfile'): Record<string, string> {
  const lines = readFileSync(dockerfile, 'utf8').replace(/\\\n/g, ' ').split('\n');
  const stages = lines.map((l, i) => (/^FROM\s/i.test(l) ? i : -1)).filter((i) => i >= 0);
  const env: Record<string, string> = {};
  for (const line of lines.slice(stages.at(-1))) {
    const m = /^ENV\s+(.*)$/i.exec(line.trim());
    if (!m) continue;
    for (const pair of m[1]!.trim().split(/\s+/)) {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new Error(`Dockerfile: ENV ${pair} is not NAME=VALUE`);
      env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  }
  return env;
}

/** The variables Kubernetes puts in a pod for each Service of its namespace (docker links' form), unless enableServiceLinks is false. */
export function serviceLinks(services: K8sObject[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const s of services) {
    const name = s.metadata.name.toUpperCase().replace(/-/g, '_');
    const ports = (s.spec.ports ?? []) as Array<{ name?: string; port: number; protocol?: string }>;
    const ip = '10.96.0.10';
    env[`${name}_SERVICE_HOST`] = ip;
    if (ports[0]) {
      env[`${name}_SERVICE_PORT`] = String(ports[0].port);
      env[`${name}_PORT`] = `tcp://${ip}:${ports[0].port}`;
    }
    for (const p of ports) {
      const proto = (p.protocol ?? 'TCP').toUpperCase();
      if (p.name) env[`${name}_SERVICE_PORT_${p.name.toUpperCase().replace(/-/g, '_')}`] = String(p.port);
      const base = `${name}_PORT_${p.port}_${proto}`;
      Object.assign(env, { [base]: `${proto.toLowerCase()}://${ip}:${p.port}`, [`${base}_PROTO`]: proto.toLowerCase(), [`${base}_PORT`]: String(p.port), [`${base}_ADDR`]: ip });
    }
  }
  return env;
}

export interface Pod {
  /** Where the pod's mounts were written: a mount at /etc/x is at `${root}/etc/x`. */
  root: string;
  /** The container's arguments (after the image's entry point), paths moved under root. */
  args: string[];
  /** The container's environment: the image's, the Deployment's, the Service links; paths moved under root. */
  env: Record<string, string>;
  /** Secret values written, by key. */
  secrets: Record<string, string>;
  /** A mounted path, moved under root. */
  local(p: string): string;
}

/**
 * The Deployment's pod made real here. ConfigMaps come from the manifests; the Secret (made with
 * kubectl in docs/kubernetes.md, so not among them) from `secrets`. Every mount path that appears
 * in the args, the env or a mounted file is replaced by its place under root.
 */
export function materializePod(manifests: Manifest[], secrets: Record<string, string>, deploymentName = 'worker-pool'): Pod {
  const deployment = find(manifests, 'Deployment', deploymentName);
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];
  const root = mkdtempSync(path.join(tmpdir(), 'wp-pod-'));
  const mounts = (container.volumeMounts ?? []) as Array<{ name: string; mountPath: string }>;
  // One pass, longest path first, whole path segments only: "/tmp" in "/tmp/x" but not in "/tmpx" or "/a/tmp".
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const pattern = new RegExp(`(?<![\\w./-])(${mounts.map((m) => m.mountPath).sort((a, b) => b.length - a.length).map(escape).join('|')})(?![\\w.-])`, 'g');
  const local = (p: string) => (mounts.length === 0 ? p : p.replace(pattern, (m) => path.join(root, m)));
  for (const m of mounts) {
    const volume = (pod.volumes as Array<any>).find((v) => v.name === m.name);
    if (!volume) throw new Error(`volumeMount ${m.name} names no volume`);
    const dir = path.join(root, m.mountPath);
    mkdirSync(dir, { recursive: true });
    let files: Record<string, string> = {};
    if (volume.configMap) files = find(manifests, 'ConfigMap', volume.configMap.name).data ?? {};
    else if (volume.secret) {
      for (const item of volume.secret.items as Array<{ key: string }>) {
        if (secrets[item.key] === undefined) throw new Error(`the test gives no value for key ${item.key} of Secret ${volume.secret.secretName}`);
      }
      files = secrets;
    } else if (!volume.emptyDir) throw new Error(`volume ${volume.name}: only configMap, secret and emptyDir volumes are made real here`);
    const items = (volume.configMap ?? volume.secret)?.items as Array<{ key: string; path: string }> | undefined;
    for (const [key, value] of Object.entries(files)) {
      const item = items ? items.find((i) => i.key === key) : { key, path: key };
      if (item) writeFileSync(path.join(dir, item.path), local(value));
    }
  }
  const env: Record<string, string> = { ...imageEnv() };
  if (pod.enableServiceLinks !== false) Object.assign(env, serviceLinks(manifests.filter((m) => m.object.kind === 'Service' && m.object.metadata.namespace === deployment.metadata.namespace).map((m) => m.object)));
  for (const e of (container.env ?? []) as Array<{ name: string; value: string }>) env[e.name] = local(e.value);
  return { root, args: ((container.args ?? []) as string[]).map(local), env, secrets, local };
}

/** `--key value` pairs of a container's args as loadConfig's flags. */
export function argsToFlags(args: string[]): Record<string, string> {
  const flags: Record<string, string> = {};
  for (let i = 0; i < args.length; i += 2) {
    const key = args[i]!;
    if (!key.startsWith('--') || args[i + 1] === undefined) throw new Error(`args: expected --key value pairs, got ${args.join(' ')}`);
    flags[key.slice(2)] = args[i + 1]!;
  }
  return flags;
}
