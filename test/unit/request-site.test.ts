/** Which browser requests from other sites the HTTP server refuses (issue 26.1), as a pure table. */
import { describe, expect, it } from 'vitest';
import { crossSiteRefusal, type SiteHeaders } from '../../src/http/request-site.js';

const base: SiteHeaders = { method: 'GET', host: '127.0.0.1:9464', origin: undefined, secFetchSite: undefined, secFetchMode: undefined, secFetchDest: undefined };
const refused = (h: Partial<SiteHeaders>) => crossSiteRefusal({ ...base, ...h }) !== undefined;

describe('requests from other sites', () => {
  it('lets tools (no Sec-Fetch-*, no Origin) and the daemon\'s own pages through', () => {
    expect(refused({})).toBe(false);
    expect(refused({ method: 'PUT' })).toBe(false);
    expect(refused({ secFetchSite: 'same-origin', secFetchMode: 'cors' })).toBe(false);
    expect(refused({ method: 'PUT', secFetchSite: 'same-origin', origin: 'http://127.0.0.1:9464' })).toBe(false);
    expect(refused({ secFetchSite: 'none', secFetchMode: 'navigate', secFetchDest: 'document' })).toBe(false);
  });

  it('follows a link from another site to a page, nothing else from one', () => {
    expect(refused({ secFetchSite: 'cross-site', secFetchMode: 'navigate', secFetchDest: 'document' })).toBe(false);
    expect(refused({ secFetchSite: 'cross-site', secFetchMode: 'navigate', secFetchDest: 'iframe' })).toBe(true);
    expect(refused({ secFetchSite: 'cross-site', secFetchMode: 'no-cors', secFetchDest: 'image' })).toBe(true);
    expect(refused({ secFetchSite: 'cross-site', secFetchMode: 'cors', origin: 'https://evil.example' })).toBe(true);
    expect(refused({ secFetchSite: 'same-site', secFetchMode: 'cors' })).toBe(true);
    expect(refused({ method: 'POST', secFetchSite: 'cross-site', secFetchMode: 'navigate', secFetchDest: 'document' })).toBe(true);
  });

  it('refuses an Origin that is not the daemon\'s own, whatever the method', () => {
    expect(crossSiteRefusal({ ...base, method: 'PUT', origin: 'https://evil.example' })).toBe('request from another origin refused (Origin: https://evil.example)');
    expect(refused({ origin: 'null' })).toBe(true);
    expect(refused({ origin: 'http://127.0.0.1:9999' })).toBe(true);
  });
});
