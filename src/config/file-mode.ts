/**
 * Whether a file that holds a secret (the HTTP access file, its token file, a TLS key, a Redis
 * password) can be read or written by every user of the host: a one-line warning naming the file
 * and its mode, or nothing. Group access is left alone (root:worker-pool 0640 is the usual set-up).
 */
import { statSync } from 'node:fs';

export function openSecretFileWarning(what: string, file: string): string | undefined {
  let mode: number;
  try {
    mode = statSync(file).mode & 0o777;
  } catch {
    return undefined;
  }
  if ((mode & 0o006) === 0) return undefined;
  const who = (mode & 0o002) !== 0 ? 'writable' : 'readable';
  return `${what} ${file} is ${who} by every user of this host (mode ${mode.toString(8).padStart(4, '0')}); chmod o-rwx it (e.g. chmod 600, or 640 with the service's group)`;
}
