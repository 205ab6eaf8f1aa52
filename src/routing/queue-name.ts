/**
 * The generated queue name of a job type: its name without a trailing `Worker` or `Job`, in
 * snake_case (`CreateNewIssueWorker` → `create_new_issue`). Pure.
 */

/** Characters a BullMQ queue name may hold here (no ':', which separates BullMQ's key parts). */
export const QUEUE_NAME = /^[A-Za-z0-9_.@-]{1,100}$/;

export function generatedQueueName(jobTypeName: string): string {
  const base = jobTypeName.replace(/(?<=.)(Worker|Job)$/, '');
  return base
    .replace(/::|[./\s-]+/g, '_')
    // "HTTPRequest" → "HTTP_Request", "issue2Pdf" → "issue2_Pdf"
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/_+/g, '_')
    .replace(/^_|_$/g, '')
    .toLowerCase();
}
