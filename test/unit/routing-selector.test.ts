import { describe, expect, it } from 'vitest';
import { selectorAttributes, toJobType, type JobType } from '../../src/routing/job-type.js';
import { generatedQueueName } from '../../src/routing/queue-name.js';
import { matches, parseSelector, SelectorError, type Attributes } from '../../src/routing/selector.js';

const jt = (spec: Record<string, unknown>): JobType => toJobType(spec);
const issue = jt({ name: 'CreateNewIssueWorker', urgency: 'high', resourceBoundary: 'cpu', featureCategory: 'issue_tracking', tags: ['needs_own_queue'] });
const importer = jt({ name: 'Gitlab::GithubImport::ImportIssueWorker', urgency: 'throttled', resourceBoundary: 'memory', featureCategory: 'importers', hasExternalDependencies: true });
const mail = jt({ name: 'SendEmailJob', featureCategory: 'notifications', tags: ['mail', 'external'], attributes: { team: 'growth' } });
const all = [issue, importer, mail];

function selected(selector: string): string[] {
  const s = parseSelector(selector);
  return all.filter((j) => matches(s, selectorAttributes(j))).map((j) => j.name);
}

function caretError(selector: string): SelectorError {
  try {
    parseSelector(selector);
  } catch (err) {
    if (err instanceof SelectorError) return err;
    throw err;
  }
  throw new Error(`"${selector}" parsed, but should not have`);
}

describe('generated queue names', () => {
  it.each([
    ['CreateNewIssueWorker', 'create_new_issue'],
    ['CreateNewIssueJob', 'create_new_issue'],
    ['CreateNewIssue', 'create_new_issue'],
    ['HTTPRequestWorker', 'http_request'],
    ['Gitlab::GithubImport::ImportIssueWorker', 'gitlab_github_import_import_issue'],
    ['send-email', 'send_email'],
    ['Worker', 'worker'],
  ])('%s → %s', (name, queue) => {
    expect(generatedQueueName(name)).toBe(queue);
  });
});

describe('queue selectors: GitLab examples', () => {
  it('matches by attribute, with alternatives, negation, tags, name and *', () => {
    expect(selected('resource_boundary=cpu&urgency=high')).toEqual(['CreateNewIssueWorker']);
    expect(selected('feature_category=issue_tracking')).toEqual(['CreateNewIssueWorker']);
    expect(selected('feature_category!=issue_tracking')).toEqual([importer.name, 'SendEmailJob']);
    expect(selected('feature_category=issue_tracking,importers')).toEqual(['CreateNewIssueWorker', importer.name]);
    expect(selected('resource_boundary=memory|feature_category=notifications')).toEqual([importer.name, 'SendEmailJob']);
    expect(selected('has_external_dependencies=true')).toEqual([importer.name]);
    expect(selected('urgency=high,low')).toEqual(['CreateNewIssueWorker', 'SendEmailJob']);
    expect(selected('tags=needs_own_queue')).toEqual(['CreateNewIssueWorker']);
    expect(selected('tags=mail,needs_own_queue')).toEqual(['CreateNewIssueWorker', 'SendEmailJob']);
    expect(selected('tags!=mail')).toEqual(['CreateNewIssueWorker', importer.name]);
    expect(selected('name=create_new_issue')).toEqual(['CreateNewIssueWorker']);
    expect(selected('worker_name=SendEmailJob')).toEqual(['SendEmailJob']);
    expect(selected('team=growth')).toEqual(['SendEmailJob']);
    expect(selected('*')).toEqual(all.map((j) => j.name));
    expect(selected(' urgency = high ')).toEqual(['CreateNewIssueWorker']);
  });

  it('gives | lower precedence than &', () => {
    // (urgency=low & tags=mail) | resource_boundary=memory — not urgency=low & (tags=mail | resource_boundary=memory)
    expect(selected('urgency=low&tags=mail|resource_boundary=memory')).toEqual([importer.name, 'SendEmailJob']);
    expect(selected('resource_boundary=memory|urgency=low&tags=needs_own_queue')).toEqual([importer.name]);
    expect(parseSelector('a=1&b=2|c=3')).toEqual({
      kind: 'or',
      parts: [
        { kind: 'and', parts: [{ kind: 'cond', attribute: 'a', negate: false, values: ['1'] }, { kind: 'cond', attribute: 'b', negate: false, values: ['2'] }] },
        { kind: 'cond', attribute: 'c', negate: false, values: ['3'] },
      ],
    });
  });

  it('treats an attribute a job type lacks as matching != and never =', () => {
    expect(selected('team!=growth')).toEqual(['CreateNewIssueWorker', importer.name]);
    expect(selected('team=anything')).toEqual([]);
  });
});

describe('queue selector errors', () => {
  it.each([
    ['urgency=high&', 13, 'expected an attribute name'],
    ['urgency==high', 8, 'expected a value'],
    ['urgency high', 8, 'expected "=" or "!="'],
    ['urgency=high,', 13, 'expected a value after ","'],
    ['urgency=high)', 12, 'expected "&", "|" or ","'],
    ['*&urgency=high', 1, '"*" must stand alone'],
    ['', 0, 'empty selector'],
    ['|urgency=high', 0, 'expected an attribute name'],
    ['Urgency=high', 0, 'expected an attribute name'],
  ])('%j fails at position %i', (selector, position, reason) => {
    const err = caretError(selector);
    expect(err.position).toBe(position);
    expect(err.reason).toContain(reason);
    const lines = err.message.split('\n');
    expect(lines[1]).toBe(`  ${selector}`);
    expect(lines[2]).toBe(`  ${' '.repeat(position)}^`);
  });
});

/** A small seeded generator, so a failure can be replayed. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('property: a|b matches exactly the union of a and b', () => {
  const ATTRS: Record<string, string[]> = {
    urgency: ['high', 'low', 'throttled'],
    resource_boundary: ['cpu', 'memory', 'unknown'],
    tags: ['a', 'b', 'c'],
    feature_category: ['x', 'y'],
  };
  const keys = Object.keys(ATTRS);

  it('holds for 2,000 random selector pairs over random job types', () => {
    const r = rng(20260611);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
    const condition = () => {
      const k = pick(keys);
      const values = [...new Set(Array.from({ length: 1 + Math.floor(r() * 2) }, () => pick(ATTRS[k]!)))];
      return `${k}${r() < 0.3 ? '!=' : '='}${values.join(',')}`;
    };
    const conj = () => Array.from({ length: 1 + Math.floor(r() * 3) }, condition).join('&');
    const selector = () => (r() < 0.05 ? '*' : Array.from({ length: 1 + Math.floor(r() * 2) }, conj).join('|'));
    const attrs = (): Attributes => ({
      urgency: pick(ATTRS['urgency']!),
      resource_boundary: pick(ATTRS['resource_boundary']!),
      tags: ATTRS['tags']!.filter(() => r() < 0.4),
      feature_category: r() < 0.8 ? pick(ATTRS['feature_category']!) : undefined,
    });
    let unionSeen = 0;
    for (let i = 0; i < 2000; i++) {
      const a = selector();
      const b = selector();
      if (a === '*' || b === '*') continue; // "*" stands alone; it cannot be part of a|b
      const [pa, pb, pab] = [parseSelector(a), parseSelector(b), parseSelector(`${a}|${b}`)];
      for (let j = 0; j < 10; j++) {
        const x = attrs();
        const expected = matches(pa, x) || matches(pb, x);
        if (matches(pa, x) !== matches(pb, x)) unionSeen++;
        expect(matches(pab, x), `${a} | ${b} on ${JSON.stringify(x)}`).toBe(expected);
      }
    }
    expect(unionSeen).toBeGreaterThan(1000); // the cases where only one side matches were exercised
  });
});
