/**
 * Checks that a processor module loads, in a throwaway child so that the user's top-level code
 * never runs inside the supervisor. Answers with the reason when it does not.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { JobType } from '../routing/job-type.js';

const PROBE_ENTRY = fileURLToPath(new URL('../../dist/worker/load-check.js', import.meta.url));

/** `catalog`: the job types the module declares with `jobs` (plain data), or null. `workerOptions`: the names of the BullMQ Worker options it exports. */
export type ProcessorCheck = { ok: true; names: string[] | null; catalog: JobType[] | null; workerOptions?: string[] } | { ok: false; message: string };

export function checkProcessorLoads(file: string, timeoutMs = 15_000): Promise<ProcessorCheck> {
  return new Promise((resolve) => {
    let answered: ProcessorCheck | undefined;
    let stderr = '';
    const child = fork(PROBE_ENTRY, [file], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], execArgv: [] });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (c: string) => (stderr = (stderr + c).slice(-2000)));
    const timer = setTimeout(() => {
      answered ??= { ok: false, message: `processor ${file} did not finish loading within ${timeoutMs / 1000} s` };
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('message', (m: unknown) => {
      const msg = m as { ok?: boolean; message?: string; names?: string[] | null; catalog?: JobType[] | null; workerOptions?: string[] };
      answered = msg.ok ? { ok: true, names: msg.names ?? null, catalog: msg.catalog ?? null, workerOptions: msg.workerOptions ?? [] } : { ok: false, message: String(msg.message) };
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const lastLine = stderr.trim().split('\n').filter(Boolean).pop();
      resolve(answered ?? { ok: false, message: `processor ${file} exited while loading (${signal ?? `code ${code}`})${lastLine ? `: ${lastLine}` : ''}` });
    });
  });
}
