/** The demo's processor: each job waits `data.ms` milliseconds (default 1000), like RQ Orchestrator's test_func. */
import type { Job } from 'bullmq';

export default async function sleepJob(job: Job<{ ms?: number }>): Promise<{ sleptMs: number }> {
  const ms = typeof job.data?.ms === 'number' && job.data.ms >= 0 ? job.data.ms : 1000;
  await new Promise((resolve) => setTimeout(resolve, ms));
  return { sleptMs: ms };
}
