import { describe, expect, it } from 'vitest';
import { CatalogError, defineJob, toCatalog, toJobType } from '../../src/routing/job-type.js';
import { parseRules, poolQueues, requireRoutes, routeCatalog, RuleError } from '../../src/routing/rules.js';

const catalog = toCatalog([
  { name: 'CreateNewIssueWorker', urgency: 'high', resourceBoundary: 'cpu' },
  { name: 'ProblemWorker', urgency: 'low', resourceBoundary: 'memory' },
  { name: 'ImportIssueJob', urgency: 'throttled', tags: ['example_tag'] },
]);

function actual(rules: unknown): Record<string, string> {
  const t = routeCatalog(catalog, parseRules(rules));
  return Object.fromEntries(t.routes.map((r) => [r.jobType.name, r.actual]));
}

describe('routing rules', () => {
  it("routes GitLab's example: cpu-bound high urgency to its generated queue, the rest to default", () => {
    expect(actual([['resource_boundary=cpu&urgency=high', null], ['*', 'default']])).toEqual({
      CreateNewIssueWorker: 'create_new_issue',
      ProblemWorker: 'default',
      ImportIssueJob: 'default',
    });
  });

  it('takes the first matching rule, not a later one', () => {
    const rules = [['name=problem', null], ['tags=example_tag', 'default'], ['urgency=low,throttled', 'slow'], ['*', null]];
    expect(actual(rules)).toEqual({ CreateNewIssueWorker: 'create_new_issue', ProblemWorker: 'problem', ImportIssueJob: 'default' });
    const t = routeCatalog(catalog, parseRules(rules));
    expect(t.routes.map((r) => r.rule)).toEqual([3, 0, 1]);
  });

  it('gives null the generated queue name', () => {
    expect(actual([['*', null]])).toEqual({ CreateNewIssueWorker: 'create_new_issue', ProblemWorker: 'problem', ImportIssueJob: 'import_issue' });
  });

  it('reports the job types no rule matches, and refuses them at start-up', () => {
    const rules = parseRules([['urgency=high', 'fast']]);
    expect(routeCatalog(catalog, rules).unmatched).toEqual(['ProblemWorker', 'ImportIssueJob']);
    expect(() => requireRoutes(catalog, rules)).toThrow(/no routing rule matches job types ProblemWorker, ImportIssueJob/);
  });

  it('refuses malformed rules with the rule number and a caret under a bad selector', () => {
    expect(() => parseRules([])).toThrow(RuleError);
    expect(() => parseRules([['*']])).toThrow(/rule 1: \["\*"\] is not a \[selector, queue or null\] pair/);
    expect(() => parseRules([['*', 'bad:queue']])).toThrow(/rule 1: destination "bad:queue"/);
    expect(() => parseRules([['*', null], ['urgency=high&', 'x']])).toThrow(/rule 2: expected an attribute name[^\n]*\n {2}urgency=high&\n {15}\^/);
  });
});

describe('pool queues from a queue-selector', () => {
  const rules = parseRules([['resource_boundary=cpu&urgency=high', null], ['*', 'default']]);

  it('resolves a selector to the actual queues of the matching job types', () => {
    expect(poolQueues({ queues: [], queueSelector: 'resource_boundary=cpu&urgency=high', routingRules: rules }, catalog)).toEqual(['create_new_issue']);
    expect(poolQueues({ queues: [], queueSelector: 'urgency!=high', routingRules: rules }, catalog)).toEqual(['default']);
    expect(poolQueues({ queues: [], queueSelector: '*', routingRules: rules }, catalog)).toEqual(['create_new_issue', 'default']);
  });

  it('adds queues named outright after the selected ones (listening to an old queue while migrating)', () => {
    expect(poolQueues({ queues: ['problem', 'default'], queueSelector: 'urgency=low', routingRules: rules }, catalog)).toEqual(['default', 'problem']);
  });

  it('refuses a selector without a catalog, or one that matches nothing', () => {
    expect(() => poolQueues({ queues: [], queueSelector: '*', routingRules: rules }, null)).toThrow(/needs a catalog/);
    expect(() => poolQueues({ queues: [], queueSelector: 'tags=nothing', routingRules: rules }, catalog)).toThrow(/matches no job type/);
  });
});

describe('job types', () => {
  it('fills GitLab defaults and checks attributes', () => {
    expect(toJobType({ name: 'X' })).toEqual({ name: 'X', urgency: 'low', resourceBoundary: 'unknown', tags: [] });
    expect(() => toJobType({ name: 'X', urgency: 'urgent' })).toThrow(/urgency "urgent" is not allowed; expected one of high, low, throttled/);
    expect(() => toJobType({ name: 'X', attributes: { urgency: 'x' } })).toThrow(CatalogError);
    expect(() => toCatalog([{ name: 'X' }, { name: 'X' }])).toThrow(/declared twice/);
    expect(() => defineJob({ name: 'X' } as never)).toThrow(/"run" must be a function/);
    const d = defineJob({ name: 'X', tags: ['t'], run: () => 1 });
    expect(d.run(undefined)).toBe(1);
    expect(d.tags).toEqual(['t']);
  });
});

describe('routing settings in the configuration', () => {
  it('reads routing-rules as JSON from the environment and queue-selector as a string', async () => {
    const { loadConfig } = await import('../../src/config/load.js');
    const c = loadConfig({ env: { WORKER_POOL_ROUTING_RULES: '[["urgency=high", null], ["*", "default"]]', WORKER_POOL_QUEUE_SELECTOR: 'urgency=high' } });
    expect(c.routingRules!.map((r) => [r.selector, r.destination])).toEqual([['urgency=high', null], ['*', 'default']]);
    expect(c.queueSelector).toBe('urgency=high');
    expect(c.queues).toEqual([]); // the selector alone decides, unless queues are given too
    expect(loadConfig({ flags: { 'queue-selector': '*', queues: 'old' } }).queues).toEqual(['old']);
    expect(() => loadConfig({ env: { WORKER_POOL_ROUTING_RULES: '[["*", null]' } })).toThrow(/WORKER_POOL_ROUTING_RULES: .* is not allowed; expected a list of \[selector, queue or null\] pairs/);
    expect(() => loadConfig({ flags: { 'routing-rules': '[["*", 7]]' } })).toThrow(/--routing-rules: rule 1: destination 7 must be a queue name/);
    expect(() => loadConfig({ flags: { 'queue-selector': 'urgency=' } })).toThrow(/--queue-selector: expected a value, found end of selector at position 9\n {2}urgency=\n {10}\^/);
  });

  it('builds handlers from a processor module that declares jobs', async () => {
    const { toProcessor } = await import('../../src/worker/processor.js');
    const p = toProcessor({ default: { jobs: [defineJob({ name: 'SendEmail', tags: ['mail'], run: () => 'sent' })] } }, 'jobs.js');
    expect(p.names).toEqual(['SendEmail']);
    expect(p.catalog).toEqual([{ name: 'SendEmail', urgency: 'low', resourceBoundary: 'unknown', tags: ['mail'] }]);
    expect(await p.run({ name: 'SendEmail' } as never)).toBe('sent');
    expect(() => toProcessor({ default: { jobs: [{ name: 'X' }] } }, 'jobs.js')).toThrow(/jobs\[0\] \(X\) has no "run" function/);
    expect(() => toProcessor({ default: { jobs: [{ name: 'X', urgency: 'now', run() {} }] } }, 'jobs.js')).toThrow(/job type X: urgency "now" is not allowed/);
  });
});
