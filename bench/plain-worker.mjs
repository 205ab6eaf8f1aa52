// A plain BullMQ Worker process, the baseline: what you would run by hand (node worker.js).
// argv[2] is JSON { redisUrl, prefix, queue, concurrency, processor, sandboxed }. With `sandboxed`
// the Worker is given the processor's file path, so BullMQ runs each job in its own child process.
// Says {type:'ready'} over IPC once connected; closes and exits on {type:'close'}.
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';

const o = JSON.parse(process.argv[2]);
const connection = new Redis(o.redisUrl, { maxRetriesPerRequest: null });
const processor = o.sandboxed ? o.processor : (await import(o.processor)).default;
const worker = new Worker(o.queue, processor, {
  connection,
  prefix: o.prefix,
  concurrency: o.concurrency,
  useWorkerThreads: false,
});
worker.on('error', (err) => console.error('worker error', err.message));
await worker.waitUntilReady();
process.send({ type: 'ready' });
process.on('message', async (msg) => {
  if (msg?.type !== 'close') return;
  await worker.close();
  connection.disconnect();
  process.exit(0);
});
process.on('disconnect', () => process.exit(0));
