/** Process entry of the `worker-pool` command: runs the program and maps errors to exit codes. */
import { ConfigError } from '../config/schema.js';
import { RedisMissingError } from '../redis/embedded.js';
import { CliError, EXIT } from './exit-codes.js';
import { buildProgram, CommanderError, type ProgramResult } from './program.js';

async function main(argv: string[]): Promise<number> {
  const result: ProgramResult = { exitCode: EXIT.OK };
  const program = buildProgram(result);
  try {
    await program.parseAsync(argv);
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
    console.error('worker-pool: unexpected error:', err);
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
    console.error('worker-pool: unexpected error:', err);
    process.exit(EXIT.SOFTWARE);
  },
);
