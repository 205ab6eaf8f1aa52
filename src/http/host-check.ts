/**
 * The Host header check against DNS rebinding: a web page whose name an attacker re-points at
 * 127.0.0.1 reaches the daemon with its own name in Host, so only the names the daemon is known by
 * are answered: the bind address, the loopback names (when bound to loopback or to every address),
 * this host's addresses and name (when bound to every address), and `host_names` of the HTTP
 * access file. Pure: the caller gives the addresses.
 */

const WILDCARD = new Set(['0.0.0.0', '::', '']);

export interface HostNames {
  /** --metrics-host */
  bind: string;
  /** host_names of the HTTP access file. */
  configured: readonly string[];
  /** This host's interface addresses and host name (used when bound to every address). */
  local: readonly string[];
}

function bare(host: string): string {
  return host.replace(/^\[|\]$/g, '').toLowerCase();
}

export function allowedHosts(n: HostNames): Set<string> {
  const bind = bare(n.bind);
  const out = new Set<string>([bind, ...n.configured.map(bare)]);
  const loopback = bind === 'localhost' || bind === '::1' || bind.startsWith('127.');
  if (loopback || WILDCARD.has(bind)) for (const h of ['localhost', '127.0.0.1', '::1']) out.add(h);
  if (WILDCARD.has(bind)) for (const h of n.local) out.add(bare(h));
  return out;
}

/** The host part of a Host header ("[::1]:9464" → "::1", "Pool.Example:80" → "pool.example"). */
export function hostOf(header: string): string {
  const h = header.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']') < 0 ? undefined : h.indexOf(']'));
  const colon = h.lastIndexOf(':');
  // More than one colon and no brackets: a bare IPv6 address, no port.
  if (colon >= 0 && h.indexOf(':') === colon) return h.slice(0, colon);
  return h;
}

/** True when the request may be answered. A request without Host (HTTP/1.0 tools) is not a browser's. */
export function hostAllowed(header: string | undefined, allowed: ReadonlySet<string>): boolean {
  if (header === undefined || header === '') return true;
  return allowed.has(hostOf(header));
}
