/** `worker-pool check-config FILE…`: validate config files (and that their processor loads) without starting anything. */
import { ConfigError } from '../config/schema.js';
import { loadConfig } from '../config/load.js';
import { poolQueues, RuleError } from '../routing/rules.js';
import { probeProcessor } from '../supervisor/probe-processor.js';
import { EXIT } from './exit-codes.js';

export async function runCheckConfig(files: string[], out: (line: string) => void = console.log): Promise<number> {
  let bad = 0;
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
      const handlers = probe.catalog ? `job types ${probe.catalog.map((j) => j.name).join(',')}` : probe.names ? `handlers ${probe.names.join(',') || '(none)'}` : 'one function for every job';
      out(`ok     ${file}: pool "${config.name}", queues ${config.queues.join(',')}, concurrency ${config.concurrency}, workers ${config.minWorkers}–${config.maxWorkers}, ${handlers}`);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      bad++;
      out(`error  ${file}: ${err.message}`);
    }
  }
  return bad > 0 ? EXIT.CONFIG : EXIT.OK;
}
