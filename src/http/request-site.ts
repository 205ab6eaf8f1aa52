/**
 * Refuses requests a web page on another site made a browser send (a form, a fetch, an <img>):
 * the browser adds `Sec-Fetch-Site` (and `Origin` to most), which tools such as curl and Prometheus
 * do not send. Cross-site requests are refused whatever the method, except a plain navigation to a
 * page (following a link from a dashboard), which cannot read or change anything the user does not
 * see. A request that carries an Origin (every change a browser sends, every cross-origin read)
 * must carry this server's own. Pure: the caller gives the headers.
 */

export interface SiteHeaders {
  method: string;
  host: string | undefined;
  origin: string | undefined;
  secFetchSite: string | undefined;
  secFetchMode: string | undefined;
  secFetchDest: string | undefined;
}

/** host:port of an Origin header; undefined for "null" or anything unparsable. */
function originHost(origin: string): string | undefined {
  try {
    return new URL(origin).host;
  } catch {
    return undefined;
  }
}

/** Why the request is refused (one line), or undefined when it may go on. */
export function crossSiteRefusal(h: SiteHeaders): string | undefined {
  const reading = h.method === 'GET' || h.method === 'HEAD';
  const site = h.secFetchSite?.toLowerCase();
  // same-origin: the daemon's own pages; none: typed in the address bar, a bookmark.
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    const navigation = reading && h.secFetchMode === 'navigate' && (h.secFetchDest === 'document' || h.secFetchDest === undefined);
    if (!navigation) return `request from another site refused (Sec-Fetch-Site: ${site}); open the page from this server instead`;
  }
  // A browser sends Origin with every change and with cross-origin reads; "null" is a sandboxed or file: page.
  if (h.origin !== undefined && originHost(h.origin) !== h.host) return `request from another origin refused (Origin: ${h.origin})`;
  return undefined;
}
