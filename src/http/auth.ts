/**
 * Checks a request's credentials against the HTTP access file: `Authorization: Basic` against the
 * bcrypt hashes, `Authorization: Bearer` against the tokens. bcrypt is slow on purpose (~50–100 ms a
 * check in JavaScript), so a successful check is remembered by a SHA-256 of the header for a while,
 * as exporter-toolkit does; failures are never remembered. Hashes are compared with bcryptjs' async
 * compare, which yields to the event loop between rounds.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcryptjs';
import type { HttpAccess } from '../config/http-access.js';

export type AuthResult = { ok: true; user: string } | { ok: false };

const CACHE_SIZE = 64;

export class HttpAuth {
  /** sha256(Authorization header) → user, of recent successful checks (oldest first). */
  private readonly verified = new Map<string, { user: string; until: number }>();

  constructor(
    private readonly access: HttpAccess | undefined,
    private readonly now: () => number = Date.now,
    private readonly cacheMs = 60_000,
  ) {}

  /** Whether requests must carry credentials at all. */
  get required(): boolean {
    return this.access?.authRequired === true;
  }

  /** What to put in WWW-Authenticate on a 401. */
  get challenge(): string {
    return this.access && this.access.users.size > 0 ? 'Basic realm="worker-pool", charset="UTF-8"' : 'Bearer realm="worker-pool"';
  }

  async check(authorization: string | undefined): Promise<AuthResult> {
    if (!this.access || !authorization) return { ok: false };
    const digest = createHash('sha256').update(authorization).digest('hex');
    const hit = this.verified.get(digest);
    if (hit && hit.until > this.now()) return { ok: true, user: hit.user };
    const space = authorization.indexOf(' ');
    const scheme = authorization.slice(0, space).toLowerCase();
    const value = authorization.slice(space + 1).trim();
    let user: string | undefined;
    if (scheme === 'bearer') user = this.bearer(value);
    else if (scheme === 'basic') user = await this.basic(value);
    if (user === undefined) return { ok: false };
    this.verified.delete(digest);
    this.verified.set(digest, { user, until: this.now() + this.cacheMs });
    if (this.verified.size > CACHE_SIZE) this.verified.delete(this.verified.keys().next().value!);
    return { ok: true, user };
  }

  private bearer(token: string): string | undefined {
    const given = createHash('sha256').update(token).digest();
    // Every token is compared (same work whichever matches), in constant time each.
    let match = false;
    for (const t of this.access!.bearerTokens) match = timingSafeEqual(given, createHash('sha256').update(t).digest()) || match;
    return match ? 'bearer' : undefined;
  }

  private async basic(encoded: string): Promise<string | undefined> {
    const decoded = Buffer.from(encoded, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return undefined;
    const user = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    const hash = this.access!.users.get(user);
    if (hash === undefined) {
      // Spend the same time as for a known user, so timing does not tell which names exist.
      await bcrypt.compare(password, DUMMY_HASH);
      return undefined;
    }
    return (await bcrypt.compare(password, hash)) ? user : undefined;
  }
}

/** bcrypt of a random string at cost 10: compared against when the user is unknown. */
const DUMMY_HASH = '$2b$10$YToCL.BzdUNuXoJDaYWT7.THFHflrll.8gMxzqRojCkUVHxgXszES';
