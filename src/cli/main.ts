/** Process entry of the `worker-pool` command: runs the program and maps errors to exit codes. */
import { inspect } from 'node:util';
import { redactArgv, redactText } from '../secrets.js';
import { ConfigError } from '../config/schema.js';
import { RedisMissingError } from '../redis/embedded.js';
import { CliError, EXIT } from './exit-codes.js';
import { buildProgram, CommanderError, type ProgramResult } from './program.js';

/** An unexpected error, printed whole but without a password it may quote. */
function printUnexpected(err: unknown): void {
  console.error(`worker-pool: unexpected error: ${redactText(inspect(err))}`);
}

/**
 * The command line may hold a Redis URL with its password (--redis-url): once commander has its
 * own copy, the process's argv (what /proc/PID/cmdline and ps show) is overwritten with a redacted one.
 */
function hideSecretArgs(argv: string[]): void {
  const shown = redactArgv(argv.slice(1));
  if (shown.every((a, i) => a === argv[i + 1])) return;
  for (let i = 1; i < argv.length; i++) argv[i] = shown[i - 1]!;
  process.title = ['worker-pool', ...shown.slice(1)].join(' ');
}

async function main(argv: string[]): Promise<number> {
  const result: ProgramResult = { exitCode: EXIT.OK };
  const program = buildProgram(result);
  try {
    const parsing = program.parseAsync([...argv]);
    hideSecretArgs(argv);
    await parsing;
    return result.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are not errors; commander has already printed the message.
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT.OK;
      return EXIT.USAGE;
    }
    if (err instanceof ConfigError) {
      console.error(`worker-pool: ${err.message}`);
      return EXIT.CONFIG;
    }
    if (err instanceof CliError) {
      console.error(`worker-pool: ${err.message}`);
      return err.exitCode;
    }
    if (err instanceof RedisMissingError) {
      console.error(`worker-pool: ${err.message}`);
      return EXIT.UNAVAILABLE;
    }
    printUnexpected(err);
    return EXIT.SOFTWARE;
  }
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
    // Give stdout a moment to flush, then leave even if a library keeps a handle open.
    setTimeout(() => process.exit(code), 50).unref();
  },
  (err: unknown) => {
    printUnexpected(err);
    process.exit(EXIT.SOFTWARE);
  },
);
