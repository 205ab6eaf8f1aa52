/**
 * The commander program: `start` (default), `check-config`, `enqueue`, `cancel`, `status`, `demo`,
 * `routes`, `migrate-jobs`, `simulate`. Only the options are defined here (from light modules, so
 * --help and --version need nothing else); each action imports its own module when it runs, so a
 * command loads what it needs and no more (`enqueue` does not load the daemon).
 */
import { Command, CommanderError, Option } from 'commander';
import { VERSION } from '../version.js';
import { CliError, EXIT } from './exit-codes.js';
import { addPoolOptions, flagsFromOpts } from './options.js';
import { OPTIONS } from '../config/schema.js';
import { MAX_TIMER_SECONDS } from '../timing.js';
import { SIM_POOL_KEYS } from './simulate-keys.js';
import { poolHelpText } from './help.js';
import { closest } from '../suggest.js';

/**
 * Parse a number flag of a subcommand, or fail with a one-line usage error. `timer`: a duration
 * in seconds that a timer waits for, so at most MAX_TIMER_SECONDS (a longer one fires at once).
 */
function numberArg(flag: string, opts: { integer?: boolean; min?: number; above?: number; timer?: boolean } = {}) {
  return (raw: string): number => {
    const n = Number(raw);
    const max = opts.timer ? MAX_TIMER_SECONDS : Infinity;
    const ok =
      raw.trim() !== '' && Number.isFinite(n) && (!opts.integer || Number.isInteger(n)) && (opts.min === undefined || n >= opts.min) && (opts.above === undefined || n > opts.above) && n <= max;
    if (!ok) {
      const what = opts.integer ? 'a whole number' : 'a number';
      const bound = opts.min !== undefined ? ` ≥ ${opts.min}` : opts.above !== undefined ? ` > ${opts.above}` : '';
      const upper = opts.timer ? ` and ≤ ${MAX_TIMER_SECONDS}` : '';
      throw new CliError(`${flag}: ${JSON.stringify(raw)} is not allowed; expected ${what}${bound}${upper}`, EXIT.USAGE);
    }
    return n;
  };
}

/**
 * The Redis options of a command that talks to Redis: `own` (enqueue, cancel: the command's own
 * Redis and prefix) or `configs` (routes, migrate-jobs: instead of what the pool configs say).
 */
function withRedisOptions(cmd: Command, from: 'own' | 'configs'): Command {
  if (from === 'own') {
    return cmd
      .option('--redis-url <URL>', 'Redis to use (default $REDIS_URL, else redis://127.0.0.1:6379)')
      .option('--redis-sentinels <HOST:PORT,…>', 'Sentinel mode: the sentinels of --redis-sentinel-name')
      .option('--redis-sentinel-name <NAME>', 'Sentinel mode: the master group name (default: mymaster)')
      .option('--redis-cluster-nodes <HOST:PORT,…>', 'Cluster mode: some of the cluster\'s nodes')
      .option('--prefix <PREFIX>', 'BullMQ key prefix (default: bull)');
  }
  return cmd
    .option('--redis-url <URL>', 'Redis to use, instead of the configs\' redis-url')
    .option('--redis-sentinels <HOST:PORT,…>', 'Sentinel mode, instead of the configs\' redis-sentinels')
    .option('--redis-sentinel-name <NAME>', 'Sentinel mode: the master group name')
    .option('--redis-cluster-nodes <HOST:PORT,…>', 'Cluster mode, instead of the configs\' redis-cluster-nodes');
}

function unknownCommand(word: string, program: Command): CliError {
  const names = program.commands.map((c) => c.name());
  const guess = closest(word, names);
  const hint = guess ? `did you mean ${guess}?` : `the commands are ${names.join(', ')}`;
  return new CliError(`unknown command ${JSON.stringify(word)}; ${hint} (worker-pool --help shows usage)`, EXIT.USAGE);
}

export interface ProgramResult {
  exitCode: number;
}

export function buildProgram(result: ProgramResult): Command {
  const program = new Command('worker-pool')
    .description('Keeps the right number of BullMQ worker processes alive for a set of Redis queues.')
    .version(VERSION, '-V, --version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  const start = addPoolOptions(
    program
      .command('start', { isDefault: true })
      .description('run the pool (the default command)')
      .allowExcessArguments()
      .exitOverride(),
  ).action(async (opts: Record<string, unknown>, cmd: Command) => {
    // A word that is no command lands here, as `start`'s argument: name it as the typo it is.
    if (cmd.args.length > 0) throw unknownCommand(cmd.args[0]!, program);
    const { runStart } = await import('./start.js');
    result.exitCode = await runStart(flagsFromOpts(opts));
  });
  program.addHelpText('after', () => poolHelpText(start));

  program
    .command('check-config')
    .description('validate config files (and that their processor loads) without starting anything')
    .argument('<files...>', 'YAML config files')
    .exitOverride()
    .action(async (files: string[]) => {
      const { runCheckConfig } = await import('./check-config.js');
      result.exitCode = await runCheckConfig(files);
    });

  withRedisOptions(program
    .command('enqueue')
    .description('add jobs to a queue (in bulk, or at --rate per second), with progress on a terminal')
    .option('--queue <NAME>', 'queue to add to (default: default)')
    .option('--name <NAME>', 'job name (picks the handler)', 'job')
    .option('--job <JOB_TYPE>', 'add jobs of this job type to its actual queue (catalog and routing rules from --config or --processor/--routing-rules); sets the job name')
    .option('--config <FILE>', 'with --job: the pool config that names the processor and the routing rules')
    .option('--processor <MODULE>', 'with --job: the module that declares the job types')
    .option('--routing-rules <JSON>', 'with --job: routing rules, if not from --config')
    .option('--data <JSON>', 'job data as JSON', '{}')
    .addOption(new Option('--count <N>', 'how many jobs').default(1).argParser(numberArg('--count', { integer: true, min: 1 })))
    .addOption(new Option('--rate <PER_SECOND>', 'add jobs one by one at this rate instead of in bulk').argParser(numberArg('--rate', { above: 0 })))
    .addOption(new Option('--delay <SECONDS>', 'delay each job by this long').argParser(numberArg('--delay', { min: 0 })))
    .addOption(new Option('--attempts <N>', 'tries before a job is failed for good').argParser(numberArg('--attempts', { integer: true, min: 1 }))), 'own')
    .exitOverride()
    .action(async (o: { queue?: string; name: string; job?: string; config?: string; processor?: string; routingRules?: string; data: string; count: number; rate?: number; delay?: number; attempts?: number; redisUrl?: string; redisSentinels?: string; redisSentinelName?: string; redisClusterNodes?: string; prefix?: string }) => {
      if (o.job !== undefined && o.queue !== undefined) throw new CliError('--job and --queue: give one; --job finds the queue from the routing rules', EXIT.USAGE);
      const [{ runEnqueue }, { cliRedisTarget }] = await Promise.all([import('./enqueue.js'), import('./routing-setup.js')]);
      const resolveJobTarget = o.job !== undefined ? (await import('./enqueue-job.js')).resolveJobTarget : undefined;
      const target = o.job !== undefined && resolveJobTarget ? await resolveJobTarget(o.job, { config: o.config, processor: o.processor, routingRules: o.routingRules, redisUrl: o.redisUrl, redisSentinels: o.redisSentinels, redisSentinelName: o.redisSentinelName, redisClusterNodes: o.redisClusterNodes, prefix: o.prefix }) : undefined;
      result.exitCode = await runEnqueue({
        redis: target?.redis ?? cliRedisTarget(o),
        prefix: target?.prefix ?? o.prefix ?? 'bull',
        queue: target?.queue ?? o.queue ?? 'default',
        name: o.job ?? o.name,
        data: o.data,
        count: o.count,
        rate: o.rate,
        delaySeconds: o.delay,
        attempts: o.attempts,
      });
    });

  withRedisOptions(program
    .command('cancel')
    .description('cancel a running job wherever it runs: its processor\'s signal aborts (exit 0 sent, 1 not running)')
    .argument('<JOB_ID>', 'id of the running job')
    .requiredOption('--queue <NAME>', 'queue of the job')
    .option('--reason <TEXT>', 'the signal\'s abort reason, as given to BullMQ\'s cancelJob'), 'own')
    .exitOverride()
    .action(async (id: string, o: { queue: string; reason?: string; redisUrl?: string; redisSentinels?: string; redisSentinelName?: string; redisClusterNodes?: string; prefix?: string }) => {
      const [{ runCancel }, { cliRedisTarget }] = await Promise.all([import('./cancel.js'), import('./routing-setup.js')]);
      result.exitCode = await runCancel({
        redisUrl: o.redisUrl ?? process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379',
        redis: cliRedisTarget(o),
        prefix: o.prefix ?? 'bull',
        queue: o.queue,
        id,
        reason: o.reason,
      });
    });

  program
    .command('status')
    .description('show a running pool: workers, utilization, queues, recent scaling (exit 0 ready, 1 not ready, 3 not running)')
    .option('--url <URL>', 'the daemon\'s HTTP address', 'http://127.0.0.1:9464')
    .option('--json', 'print the raw /status JSON (with --fleet, the /fleet JSON)')
    .option('--fleet', 'every pool instance on every host sharing this daemon\'s Redis and prefix (its GET /fleet); exit 0 when it answers')
    .option('--watch', 'redraw every --interval seconds until Ctrl-C (exit code from the last look)')
    .addOption(new Option('--interval <SECONDS>', 'seconds between redraws with --watch').default(2).argParser(numberArg('--interval', { min: 0.2, timer: true })))
    .option('--token-file <FILE>', 'a daemon with an HTTP access file: send the bearer token in FILE (its first line)')
    .option('--user <NAME>', 'a daemon with an HTTP access file: basic auth as NAME, with --password-file')
    .option('--password-file <FILE>', 'the password for --user, in FILE (its first line)')
    .exitOverride()
    .action(async (o: { url: string; json?: boolean; watch?: boolean; interval: number; fleet?: boolean; tokenFile?: string; user?: string; passwordFile?: string }) => {
      const { credentials, runStatus } = await import('./status.js');
      const authorization = credentials(o);
      const stop = o.watch
        ? new Promise<void>((resolve) => {
            process.once('SIGINT', () => resolve());
            process.once('SIGTERM', () => resolve());
          })
        : undefined;
      result.exitCode = await runStatus({ url: o.url, json: o.json === true, watch: o.watch === true, interval: o.interval, fleet: o.fleet === true, authorization }, console.log, stop);
    });

  program
    .command('demo')
    .description('watch a pool scale 2 → 4/5 → 2 on a synthetic load, on a private redis-server')
    .addOption(new Option('--duration <SECONDS>', 'total length; jobs arrive during the first half').default(180).argParser(numberArg('--duration', { above: 0, timer: true })))
    .addOption(new Option('--rate <PER_SECOND>', 'jobs offered per second during the load phase').default(2).argParser(numberArg('--rate', { above: 0 })))
    .addOption(new Option('--job-seconds <SECONDS>', 'how long each job runs').default(1).argParser(numberArg('--job-seconds', { min: 0, timer: true })))
    .addOption(new Option('--scaling-period <SECONDS>', 'the pool\'s scaling period').default(5).argParser(numberArg('--scaling-period', { above: 0, timer: true })))
    .addOption(new Option('--window <SECONDS>', 'the pool\'s utilization window').default(30).argParser(numberArg('--window', { above: 0, timer: true })))
    .option('--redis-url <URL>', 'use this Redis instead of starting a private redis-server')
    .exitOverride()
    .action(async (o: { duration: number; rate: number; jobSeconds: number; scalingPeriod: number; window: number; redisUrl?: string }) => {
      const { runDemo } = await import('./demo.js');
      result.exitCode = await runDemo({ redisUrl: o.redisUrl, duration: o.duration, rate: o.rate, jobSeconds: o.jobSeconds, scalingPeriod: o.scalingPeriod, window: o.window });
    });

  withRedisOptions(program
    .command('routes')
    .description('show job types, their generated and actual queues and who listens; warn about unlistened queues and jobs left in old ones (--check: exit 1 then)')
    .option('--config-dir <DIR>', 'directory of the pool configs, one *.yml per instance', '/etc/worker-pool')
    .option('--check', 'exit 1 when a warning is found (to guard a deploy)'), 'configs')
    .exitOverride()
    .action(async (o: { configDir: string; check?: boolean; redisUrl?: string; redisSentinels?: string; redisSentinelName?: string; redisClusterNodes?: string }) => {
      const { runRoutes } = await import('./routes.js');
      result.exitCode = await runRoutes({ configDir: o.configDir, check: o.check === true, redisUrl: o.redisUrl, redisSentinels: o.redisSentinels, redisSentinelName: o.redisSentinelName, redisClusterNodes: o.redisClusterNodes });
    });

  withRedisOptions(program
    .command('migrate-jobs')
    .description('move delayed and retrying jobs (and, with --include-waiting, waiting ones) whose actual queue changed to their new queue')
    .option('--config-dir <DIR>', 'directory of the pool configs, one *.yml per instance', '/etc/worker-pool')
    .option('--dry-run', 'count what would move, move nothing')
    .option('--include-waiting', 'also move waiting and prioritized jobs')
    .addOption(new Option('--batch-size <N>', 'jobs looked at per round trip').default(100).argParser(numberArg('--batch-size', { integer: true, min: 1 })))
    .addOption(new Option('--batch-pause <SECONDS>', 'pause between batches, to spare a busy Redis').default(0).argParser(numberArg('--batch-pause', { min: 0, timer: true }))), 'configs')
    .exitOverride()
    .action(async (o: { configDir: string; dryRun?: boolean; includeWaiting?: boolean; batchSize: number; batchPause: number; redisUrl?: string; redisSentinels?: string; redisSentinelName?: string; redisClusterNodes?: string }) => {
      const { runMigrateJobs } = await import('./migrate-jobs.js');
      result.exitCode = await runMigrateJobs({
        configDir: o.configDir,
        dryRun: o.dryRun === true,
        includeWaiting: o.includeWaiting === true,
        batchSize: o.batchSize,
        batchPauseSeconds: o.batchPause,
        redisUrl: o.redisUrl,
        redisSentinels: o.redisSentinels,
        redisSentinelName: o.redisSentinelName,
        redisClusterNodes: o.redisClusterNodes,
      });
    });

  addPoolOptions(
    program
      .command('simulate')
      .description('run a trace through the real scaling policy on a virtual clock; report waits and worker-seconds')
      .requiredOption('--trace <NAME|FILE.csv>', 'built-in trace (rq-demo, step, ramp, spike, diurnal, heavy-tail, burst-storm, slow-wave, bimodal, long-job, workday, cpu-bound) or CSV: arrival_seconds,duration_seconds[,queue]')
      .addOption(new Option('--seed <N>', 'seed of the built-in traces').default(1).argParser(numberArg('--seed', { integer: true, min: 0 })))
      .addOption(new Option('--spawn-seconds <SECONDS>', 'fork-to-ready time of a worker').default(0.25).argParser(numberArg('--spawn-seconds', { min: 0 })))
      .addOption(new Option('--worker-memory-mb <N>', 'resident memory of one worker, for --memory-budget-mb').default(67).argParser(numberArg('--worker-memory-mb', { above: 0 })))
      .addOption(new Option('--cores <N>', 'model a host with this many CPUs (CPU-bound jobs slow down when they crowd it; the CPU guard sees it)').argParser(numberArg('--cores', { above: 0 })))
      .option('--json', 'print the summary as JSON')
      .option('--plot <FILE.svg>', 'write an SVG of offered load, workers and utilization over time')
      .exitOverride(),
    OPTIONS.filter((o) => (SIM_POOL_KEYS as readonly string[]).includes(o.key)),
  ).action(async (opts: Record<string, unknown>) => {
    const { runSimulate } = await import('./simulate.js');
    result.exitCode = await runSimulate({
      trace: opts['trace'] as string,
      seed: opts['seed'] as number,
      spawnSeconds: opts['spawnSeconds'] as number,
      workerMemoryMb: opts['workerMemoryMb'] as number,
      cores: opts['cores'] as number | undefined,
      json: opts['json'] === true,
      plot: opts['plot'] as string | undefined,
      flags: flagsFromOpts(opts),
    });
  });

  return program;
}

export { CommanderError };
