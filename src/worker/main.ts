/** Entry of a worker child (forked by the supervisor): waits for its settings over IPC, then runs. */
import { FENCED_EXIT_CODE, isParentMessage, type ChildMessage } from '../ipc/messages.js';
import { stdoutRelay } from '../logger.js';
import { WorkerRuntime } from './run-worker.js';

let runtime: WorkerRuntime | undefined;

/**
 * Exit. The child leads its own process group (the supervisor forks it detached): when the
 * supervisor is gone, nobody else ends what its jobs spawned, so the child takes its group with it.
 * (The signal reaches this process too, but it has exited before it could handle it.)
 */
function exit(code: number): void {
  // The last lines (jobs handed back, the reason it stops) are still queued to the supervisor,
  // which reads them at once: wait for them, briefly; a fenced child leaves at its deadline.
  if (code === FENCED_EXIT_CODE) leave(code);
  else void stdoutRelay.drained(1000).then(() => leave(code));
}

function leave(code: number): never {
  if (!process.connected) {
    try {
      process.kill(-process.pid, 'SIGKILL');
    } catch {
      // Not a group leader (run by hand), or nothing else in the group.
    }
  }
  process.exit(code);
}
const send = (msg: ChildMessage) => {
  if (process.connected) process.send!(msg);
};

process.on('message', (msg: unknown) => {
  if (!isParentMessage(msg)) return;
  if (msg.type === 'start' && !runtime) {
    runtime = new WorkerRuntime(msg.settings, { send }, exit);
    runtime.start().catch((err: unknown) => {
      console.error(err);
      exit(1);
    });
  } else {
    runtime?.onParentMessage(msg);
  }
});
process.on('disconnect', () => (runtime ? runtime.onParentGone() : exit(0)));
// Signals are the supervisor's business: a terminal's Ctrl-C reaches the whole process group,
// and the supervisor decides how each child stops.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => runtime?.drain('SIGTERM'));
