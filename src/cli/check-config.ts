/**
 * `worker-pool check-config FILE…`: validate config files (and that their processor loads) without
 * starting anything; given several, also check them as the instances of one host.
 */
import { checkConfigSet, type InstanceConfig } from '../config/config-set.js';
import { redactText } from '../config/redact.js';
import { ConfigError } from '../config/schema.js';
import { checkLimitedQueues, loadConfig } from '../config/load.js';
import { DEFAULT_RULES_RAW, parseRules, poolQueues, routeCatalog, RuleError } from '../routing/rules.js';
import { probeProcessor } from '../supervisor/probe-processor.js';
import { EXIT } from './exit-codes.js';

export async function runCheckConfig(files: string[], out: (line: string) => void = console.log): Promise<number> {
  let bad = 0;
  let unexpected = 0;
  const loaded: InstanceConfig[] = [];
  for (const file of files) {
    try {
      // The file alone, as the service would read it: no WORKER_POOL_* from this shell.
      const config = loadConfig({ flags: { config: file }, env: {}, requireProcessor: true });
      const probe = await probeProcessor(config.processor!);
      if (!probe.ok) throw new ConfigError(probe.message);
      try {
        config.queues = poolQueues(config, probe.catalog);
      } catch (err) {
        if (err instanceof RuleError) throw new ConfigError(err.message);
        throw err;
      }
      checkLimitedQueues(config);
      const routes = probe.catalog
        ? routeCatalog(probe.catalog, config.routingRules ?? parseRules(DEFAULT_RULES_RAW)).routes.map((r) => ({ jobType: r.jobType.name, queue: r.actual }))
        : undefined;
      const handlers = probe.catalog ? `job types ${probe.catalog.map((j) => j.name).join(',')}` : probe.names ? `handlers ${probe.names.join(',') || '(none)'}` : 'one function for every job';
      loaded.push({ file, config, routes });
      const options = probe.workerOptions?.length ? `, worker options ${probe.workerOptions.join(',')}` : '';
      out(`ok     ${file}: pool "${config.name}", queues ${config.queues.join(',')}, concurrency ${config.concurrency}, workers ${config.minWorkers}–${config.maxWorkers}, ${handlers}${options}`);
    } catch (err) {
      // One file's trouble, expected or not, never stops the others from being checked.
      if (err instanceof ConfigError) bad++;
      else unexpected++;
      out(`error  ${file}: ${err instanceof ConfigError ? err.message : `unexpected error: ${redactText(String((err as Error).message ?? err))}`}`);
    }
  }
  for (const problem of checkConfigSet(loaded)) {
    bad++;
    out(`error  together: ${problem}`);
  }
  return unexpected > 0 ? EXIT.SOFTWARE : bad > 0 ? EXIT.CONFIG : EXIT.OK;
}
