/**
 * Routing rules: `[selector, destination]` pairs matched first to last; the first whose selector
 * matches a job type gives its actual queue (`null`: its generated queue name). A job type that
 * no rule matches is an error, never a silent default. Pure: no I/O.
 */
import { selectorAttributes, type JobType } from './job-type.js';
import { generatedQueueName, QUEUE_NAME } from './queue-name.js';
import { matches, parseSelector, SelectorError, type Selector } from './selector.js';

export interface RoutingRule {
  selector: string;
  parsed: Selector;
  /** A queue name, or null for the job type's generated queue name. */
  destination: string | null;
}

/** The rules used when none are configured: every job type to its own generated queue. */
export const DEFAULT_RULES_RAW: ReadonlyArray<[string, string | null]> = [['*', null]];

export class RuleError extends Error {
  override readonly name = 'RuleError';
}

/** Check raw rules (from YAML or JSON) and parse their selectors; throws RuleError or SelectorError. */
export function parseRules(raw: unknown): RoutingRule[] {
  if (!Array.isArray(raw) || raw.length === 0) throw new RuleError('expected a non-empty list of [selector, queue or null] pairs');
  return raw.map((pair, i) => {
    if (!Array.isArray(pair) || pair.length !== 2) throw new RuleError(`rule ${i + 1}: ${JSON.stringify(pair)} is not a [selector, queue or null] pair`);
    const [selector, destination] = pair as [unknown, unknown];
    if (typeof selector !== 'string') throw new RuleError(`rule ${i + 1}: selector ${JSON.stringify(selector)} must be a string such as "urgency=high"`);
    if (destination !== null && (typeof destination !== 'string' || !QUEUE_NAME.test(destination))) {
      throw new RuleError(`rule ${i + 1}: destination ${JSON.stringify(destination)} must be a queue name (letters, digits, _ . @ -) or null`);
    }
    let parsed: Selector;
    try {
      parsed = parseSelector(selector);
    } catch (err) {
      if (err instanceof SelectorError) throw new RuleError(`rule ${i + 1}: ${err.message}`);
      throw err;
    }
    return { selector, parsed, destination: destination as string | null };
  });
}

export interface Route {
  jobType: JobType;
  generated: string;
  actual: string;
  /** Index of the rule that matched. */
  rule: number;
}

export function routeJobType(jt: JobType, rules: readonly RoutingRule[]): Route | undefined {
  const attrs = selectorAttributes(jt);
  const generated = generatedQueueName(jt.name);
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i]!;
    if (matches(r.parsed, attrs)) return { jobType: jt, generated, actual: r.destination ?? generated, rule: i };
  }
  return undefined;
}

export interface RoutingTable {
  routes: Route[];
  /** Job types no rule matches. */
  unmatched: string[];
}

export function routeCatalog(catalog: readonly JobType[], rules: readonly RoutingRule[]): RoutingTable {
  const routes: Route[] = [];
  const unmatched: string[] = [];
  for (const jt of catalog) {
    const r = routeJobType(jt, rules);
    if (r) routes.push(r);
    else unmatched.push(jt.name);
  }
  return { routes, unmatched };
}

/** Throwing form for start-up and producers: every job type must have a route. */
export function requireRoutes(catalog: readonly JobType[], rules: readonly RoutingRule[]): Map<string, Route> {
  const { routes, unmatched } = routeCatalog(catalog, rules);
  if (unmatched.length > 0) {
    throw new RuleError(`no routing rule matches job type${unmatched.length > 1 ? 's' : ''} ${unmatched.join(', ')}; add a rule for ${unmatched.length > 1 ? 'them' : 'it'} (e.g. ["*", "default"] last)`);
  }
  return new Map(routes.map((r) => [r.jobType.name, r]));
}

/** The actual queues of the job types a selector matches, in catalog order, without repeats. */
export function queuesForSelector(selector: Selector, catalog: readonly JobType[], rules: readonly RoutingRule[]): string[] {
  const routes = requireRoutes(catalog, rules);
  const out: string[] = [];
  for (const jt of catalog) {
    if (!matches(selector, selectorAttributes(jt))) continue;
    const q = routes.get(jt.name)!.actual;
    if (!out.includes(q)) out.push(q);
  }
  return out;
}

/**
 * The queues a pool takes jobs from: those of its `queue-selector` (through the catalog and the
 * rules), then the ones it names outright. Throws RuleError when the selector cannot be resolved.
 */
export function poolQueues(p: { queues: readonly string[]; queueSelector: string | undefined; routingRules: readonly RoutingRule[] | undefined }, catalog: readonly JobType[] | null): string[] {
  // Every job type must have a route, whether or not this pool listens by selector.
  if (catalog) requireRoutes(catalog, p.routingRules ?? parseRules(DEFAULT_RULES_RAW));
  if (p.queueSelector === undefined) return [...p.queues];
  if (!catalog) throw new RuleError(`queue-selector: "${p.queueSelector}" needs a catalog of job types, but the processor declares none (export { jobs: [defineJob(…)] })`);
  const selected = queuesForSelector(parseSelector(p.queueSelector), catalog, p.routingRules ?? parseRules(DEFAULT_RULES_RAW));
  if (selected.length === 0 && p.queues.length === 0) throw new RuleError(`queue-selector: "${p.queueSelector}" matches no job type of the catalog (${catalog.map((j) => j.name).join(', ')})`);
  return [...selected, ...p.queues.filter((q) => !selected.includes(q))];
}
