/** The one relay of every child's stderr to the supervisor's own stderr (see ../output-relay.ts): never blocks, drops and says so when stderr is not read. */
import { OutputRelay } from '../output-relay.js';

export const stderrRelay: OutputRelay = new OutputRelay(2, {
  announce: (n) => stderrRelay.write(`[worker-pool] ${n} bytes of worker output dropped (stderr was not read fast enough)\n`),
});
