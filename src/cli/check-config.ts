/**
 * `worker-pool check-config FILE…`: validate config files (and that their processor loads) without
 * starting anything; given several, also check them as the instances of one host.
 */
import { checkConfigSet, type InstanceConfig } from '../config/config-set.js';
import { redactText } from '../secrets.js';
import { ConfigError } from '../config/schema.js';
import { prepare } from '../daemon/prepare.js';
import { DEFAULT_RULES_RAW, parseRules, routeCatalog } from '../routing/rules.js';
import { EXIT } from './exit-codes.js';

export async function runCheckConfig(files: string[], out: (line: string) => void = console.log): Promise<number> {
  let bad = 0;
  let unexpected = 0;
  const loaded: InstanceConfig[] = [];
  for (const file of files) {
    try {
      // The file alone, as the service would read it: no WORKER_POOL_* from this shell.
      const { config, processor: probe } = await prepare({ flags: { config: file }, env: {} });
      const routes = probe.catalog
        ? routeCatalog(probe.catalog, config.routingRules ?? parseRules(DEFAULT_RULES_RAW)).routes.map((r) => ({ jobType: r.jobType.name, queue: r.actual }))
        : undefined;
      const handlers = probe.catalog ? `job types ${probe.catalog.map((j) => j.name).join(',')}` : probe.names ? `handlers ${probe.names.join(',') || '(none)'}` : 'one function for every job';
      loaded.push({ file, config, routes });
      const options = probe.workerOptions?.length ? `, worker options ${probe.workerOptions.join(',')}` : '';
      out(`ok     ${file}: pool "${config.name}", queues ${config.queues.join(',')}, concurrency ${config.concurrency}, workers ${config.minWorkers}–${config.maxWorkers}, ${handlers}${options}`);
      for (const warning of config.httpAccess?.warnings ?? []) out(`warning ${file}: ${warning}`);
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
