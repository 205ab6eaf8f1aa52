// A job that does nothing: measures the cost of taking, locking and completing a job.
export default async function noop() {
  return 1;
}
