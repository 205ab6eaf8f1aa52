/** Entry of a worker child (forked by the supervisor): waits for its settings over IPC, then runs. */
import { isParentMessage, type ChildMessage } from '../ipc/messages.js';
import { WorkerRuntime } from './run-worker.js';

let runtime: WorkerRuntime | undefined;
const send = (msg: ChildMessage) => {
  if (process.connected) process.send!(msg);
};

process.on('message', (msg: unknown) => {
  if (!isParentMessage(msg)) return;
  if (msg.type === 'start' && !runtime) {
    runtime = new WorkerRuntime(msg.settings, { send }, (code) => process.exit(code));
    runtime.start().catch((err: unknown) => {
      console.error(err);
      process.exit(1);
    });
  } else {
    runtime?.onParentMessage(msg);
  }
});
process.on('disconnect', () => (runtime ? runtime.onParentGone() : process.exit(0)));
// Signals are the supervisor's business: a terminal's Ctrl-C reaches the whole process group,
// and the supervisor decides how each child stops.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => runtime?.drain('SIGTERM'));
