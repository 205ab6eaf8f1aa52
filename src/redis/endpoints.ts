/** Redis addresses and key slots as plain text rules (no client): HOST:PORT lists and {hash tags}. */

export interface RedisEndpoint {
  host: string;
  port: number;
}

/** "host:port,host:port" into endpoints; undefined when it is not that. */
export function parseEndpoints(raw: readonly string[]): RedisEndpoint[] | undefined {
  const out: RedisEndpoint[] = [];
  for (const item of raw) {
    const m = /^(\[[0-9a-fA-F:]+\]|[^:\s]+):(\d{1,5})$/.exec(item.trim());
    if (!m) return undefined;
    const port = Number(m[2]);
    if (port < 1 || port > 65535) return undefined;
    out.push({ host: m[1]!.replace(/^\[|\]$/g, ''), port });
  }
  return out;
}

/** A BullMQ prefix keeps a queue in one cluster slot only when it holds a {hash tag}. */
export function hasHashTag(prefix: string): boolean {
  // Redis hashes the text between the first '{' and the first '}' after it, if that is not empty.
  const open = prefix.indexOf('{');
  const close = open < 0 ? -1 : prefix.indexOf('}', open + 1);
  return close > open + 1;
}
