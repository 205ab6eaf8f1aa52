// Spawn-to-ready baseline: a bare Node process that loads BullMQ, creates a Worker and says ready.
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';

const o = JSON.parse(process.argv[2]);
const connection = new Redis(o.redisUrl, { maxRetriesPerRequest: null });
const worker = new Worker(o.queue, async () => 1, { connection, prefix: o.prefix, concurrency: 1 });
await worker.waitUntilReady();
process.send({ type: 'ready' });
process.on('message', async () => {
  await worker.close();
  connection.disconnect();
  process.exit(0);
});
process.on('disconnect', () => process.exit(0));
