// A job that waits 10 ms (an I/O call): measures how well slots overlap waiting.
export default async function io10() {
  await new Promise((resolve) => setTimeout(resolve, 10));
  return 1;
}
