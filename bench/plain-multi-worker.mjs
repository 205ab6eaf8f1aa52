// The baseline for many queues: one process with one plain BullMQ Worker per queue, the way a
// BullMQ user listens to hundreds of queues today. argv[2] is JSON { redisUrl, prefix, queues,
// concurrency, processor }. Says {type:'ready'} over IPC once every Worker is connected; closes and
// exits on {type:'close'}.
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';

const o = JSON.parse(process.argv[2]);
const connection = new Redis(o.redisUrl, { maxRetriesPerRequest: null });
const processor = (await import(o.processor)).default;
const workers = o.queues.map((queue) => {
  const w = new Worker(queue, processor, { connection, prefix: o.prefix, concurrency: o.concurrency, useWorkerThreads: false });
  w.on('error', (err) => console.error('worker error', err.message));
  return w;
});
await Promise.all(workers.map((w) => w.waitUntilReady()));
process.send({ type: 'ready' });
process.on('message', async (msg) => {
  if (msg?.type !== 'close') return;
  await Promise.all(workers.map((w) => w.close()));
  connection.disconnect();
  process.exit(0);
});
process.on('disconnect', () => process.exit(0));
