/** Whether an error means Redis could not be reached at all (refused, unresolvable, timed out, dropped), not that a command failed. */
const CODES = ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'EPIPE'];

export function isConnectionError(err: unknown): boolean {
  const e = err as NodeJS.ErrnoException | undefined;
  if (!e) return false;
  if (CODES.includes(e.code ?? '')) return true;
  return /Connection is closed|connect ETIMEDOUT|ECONNREFUSED|Stream isn't writeable/.test(e.message ?? '');
}
