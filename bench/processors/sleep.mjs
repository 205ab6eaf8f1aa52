// Waits job.data.ms milliseconds (for the drain benchmark).
export default async function sleep(job) {
  await new Promise((resolve) => setTimeout(resolve, job.data.ms));
  return 1;
}
