/**
 * How a stop fits the platform's stop budget (`--stop-budget`: the seconds from SIGTERM to SIGKILL
 * that docker, podman, Kubernetes or Cloud Run give): the margin kept before the kill for the
 * process to exit, the stop-timeout that leaves, and when the process must be gone at the latest.
 */

/** Kept between the end of a stop and the platform's SIGKILL: the process exits and the runtime sees it. */
export function exitMarginSeconds(budget: number): number {
  return Math.min(1, budget / 4);
}

/** The stop-timeout a budget leaves (seconds): the budget less the exit margin. */
export function stopTimeoutWithin(budget: number): number {
  return Math.round((budget - exitMarginSeconds(budget)) * 1000) / 1000;
}

/**
 * From the signal, when the process leaves even if a step of the stop still waits (ms): half the
 * margin before the platform's kill, or, without a budget, 1 s past the stop-timeout.
 */
export function hardStopMs(c: { stopTimeout: number; stopBudget: number | undefined }): number {
  if (c.stopBudget === undefined) return (c.stopTimeout + 1) * 1000;
  return (c.stopBudget - exitMarginSeconds(c.stopBudget) / 2) * 1000;
}
