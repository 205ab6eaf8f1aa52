/** Following GET /events (server-sent events) in tests. */
import { expect } from 'vitest';

export interface SseEvent {
  event: string;
  data: Record<string, unknown>;
}

/** Read an SSE stream, handing each event to `on`; returns a function that closes it. */
export async function follow(url: string, on: (e: SseEvent) => void): Promise<() => void> {
  const abort = new AbortController();
  const res = await fetch(url, { signal: abort.signal });
  expect(res.headers.get('content-type')).toContain('text/event-stream');
  void (async () => {
    const decoder = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of res.body!) {
        buf += decoder.decode(chunk as Uint8Array, { stream: true });
        let end;
        while ((end = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          const event = /^event: (.+)$/m.exec(block)?.[1];
          const data = /^data: (.+)$/m.exec(block)?.[1];
          if (event && data) on({ event, data: JSON.parse(data) as Record<string, unknown> });
        }
      }
    } catch {
      // aborted
    }
  })();
  return () => abort.abort();
}
