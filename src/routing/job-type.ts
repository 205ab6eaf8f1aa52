/**
 * Job types: a name plus the attributes that selectors match on. Declared once in the processor
 * module with `defineJob`, read as plain data by producers, the supervisor (through the probe
 * child) and the `routes` / `migrate-jobs` commands. Pure: no I/O.
 */
import { generatedQueueName, QUEUE_NAME } from './queue-name.js';
import type { Attributes } from './selector.js';

export const URGENCIES = ['high', 'low', 'throttled'] as const;
export const RESOURCE_BOUNDARIES = ['cpu', 'memory', 'unknown'] as const;
export type Urgency = (typeof URGENCIES)[number];
export type ResourceBoundary = (typeof RESOURCE_BOUNDARIES)[number];
export type CustomValue = string | number | boolean | string[];

/** A job type as plain, serialisable data. */
export interface JobType {
  name: string;
  urgency: Urgency;
  resourceBoundary: ResourceBoundary;
  tags: string[];
  featureCategory?: string;
  hasExternalDependencies?: boolean;
  /** Any other attributes, matched by selectors under their own key. */
  attributes?: Record<string, CustomValue>;
}

export interface JobTypeSpec {
  name: string;
  /** Default `low`, as in GitLab. */
  urgency?: Urgency;
  /** Default `unknown`. */
  resourceBoundary?: ResourceBoundary;
  tags?: string[];
  featureCategory?: string;
  hasExternalDependencies?: boolean;
  attributes?: Record<string, CustomValue>;
}

export interface JobDefinition<Job = unknown> extends JobType {
  run: (job: Job) => unknown;
}

export class CatalogError extends Error {
  override readonly name = 'CatalogError';
}

/** Attribute names a custom attribute may not take: they already mean something. */
const BUILT_IN = new Set(['name', 'worker_name', 'urgency', 'resource_boundary', 'tags', 'feature_category', 'has_external_dependencies']);

/** Check a job type's declaration and fill its defaults; throws CatalogError with one line. */
export function toJobType(spec: unknown, where = 'job type'): JobType {
  if (typeof spec !== 'object' || spec === null) throw new CatalogError(`${where}: expected an object with at least a "name"`);
  const s = spec as Record<string, unknown>;
  if (typeof s['name'] !== 'string' || !/^[A-Za-z][A-Za-z0-9_:./-]*$/.test(s['name'])) {
    throw new CatalogError(`${where}: name ${JSON.stringify(s['name'])} is not allowed; expected a word such as "CreateNewIssue"`);
  }
  const name = s['name'];
  const at = `job type ${name}`;
  const urgency = s['urgency'] ?? 'low';
  if (!URGENCIES.includes(urgency as Urgency)) throw new CatalogError(`${at}: urgency ${JSON.stringify(urgency)} is not allowed; expected one of ${URGENCIES.join(', ')}`);
  const resourceBoundary = s['resourceBoundary'] ?? 'unknown';
  if (!RESOURCE_BOUNDARIES.includes(resourceBoundary as ResourceBoundary)) {
    throw new CatalogError(`${at}: resourceBoundary ${JSON.stringify(resourceBoundary)} is not allowed; expected one of ${RESOURCE_BOUNDARIES.join(', ')}`);
  }
  const tags = s['tags'] ?? [];
  if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string' && /^[A-Za-z0-9_.@:\/+-]+$/.test(t))) {
    throw new CatalogError(`${at}: tags ${JSON.stringify(tags)} is not allowed; expected a list of words`);
  }
  const out: JobType = { name, urgency: urgency as Urgency, resourceBoundary: resourceBoundary as ResourceBoundary, tags: [...tags] };
  if (s['featureCategory'] !== undefined) {
    if (typeof s['featureCategory'] !== 'string') throw new CatalogError(`${at}: featureCategory must be a string`);
    out.featureCategory = s['featureCategory'];
  }
  if (s['hasExternalDependencies'] !== undefined) {
    if (typeof s['hasExternalDependencies'] !== 'boolean') throw new CatalogError(`${at}: hasExternalDependencies must be true or false`);
    out.hasExternalDependencies = s['hasExternalDependencies'];
  }
  if (s['attributes'] !== undefined) {
    const a = s['attributes'];
    if (typeof a !== 'object' || a === null || Array.isArray(a)) throw new CatalogError(`${at}: attributes must be an object of name → value`);
    for (const [k, v] of Object.entries(a)) {
      if (BUILT_IN.has(k) || !/^[a-z_][a-z0-9_]*$/.test(k)) throw new CatalogError(`${at}: attribute name "${k}" is not allowed; expected snake_case other than ${[...BUILT_IN].join(', ')}`);
      const ok = ['string', 'number', 'boolean'].includes(typeof v) || (Array.isArray(v) && v.every((x) => typeof x === 'string'));
      if (!ok) throw new CatalogError(`${at}: attribute "${k}" must be a string, number, boolean or list of strings`);
    }
    out.attributes = { ...(a as Record<string, CustomValue>) };
  }
  if (!QUEUE_NAME.test(generatedQueueName(name))) throw new CatalogError(`${at}: its generated queue name "${generatedQueueName(name)}" is not a usable queue name`);
  return out;
}

/**
 * Declare a job type and its handler, for the processor module's `jobs` list:
 * `export default { jobs: [defineJob({ name: 'CreateNewIssue', urgency: 'high', run: async (job) => … })] }`.
 */
export function defineJob<Job = unknown>(spec: JobTypeSpec & { run: (job: Job) => unknown }): JobDefinition<Job> {
  if (typeof spec?.run !== 'function') throw new CatalogError(`job type ${String(spec?.name)}: "run" must be a function`);
  return { ...toJobType(spec), run: spec.run };
}

/** Check a whole catalog: every entry valid, no name twice. */
export function toCatalog(list: unknown, where = 'catalog'): JobType[] {
  if (!Array.isArray(list)) throw new CatalogError(`${where}: expected a list of job types`);
  const seen = new Set<string>();
  return list.map((entry, i) => {
    const jt = toJobType(entry, `${where}[${i}]`);
    if (seen.has(jt.name)) throw new CatalogError(`${where}: job type ${jt.name} is declared twice`);
    seen.add(jt.name);
    return jt;
  });
}

/** The attributes a selector sees, GitLab's names in snake_case; `name` is the generated queue name. */
export function selectorAttributes(jt: JobType): Attributes {
  return {
    ...(jt.attributes ?? {}),
    name: generatedQueueName(jt.name),
    worker_name: jt.name,
    urgency: jt.urgency,
    resource_boundary: jt.resourceBoundary,
    tags: jt.tags,
    feature_category: jt.featureCategory,
    has_external_dependencies: jt.hasExternalDependencies ?? false,
  };
}
