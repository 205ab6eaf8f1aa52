/**
 * Checks a request's credentials against the HTTP access file: `Authorization: Basic` against the
 * bcrypt hashes, `Authorization: Bearer` against the tokens, and says the credential's role. bcrypt is
 * slow on purpose, so the compares run in a worker thread with a bounded queue (password-check.ts);
 * a successful check is remembered by a SHA-256 of the header for a while, as exporter-toolkit does
 * (failures are never remembered); the same header checked by several requests at once is compared
 * once; and a user name that does not exist costs the same compare as one that does.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { HttpAccess, Role } from '../config/http-access.js';
import { PasswordCheck } from './password-check.js';

/** `busy`: the check was not made because too many compares wait (answer 503, not 401). */
export type AuthResult = { ok: true; user: string; role: Role } | { ok: false; busy?: true };

const CACHE_SIZE = 64;

export class HttpAuth {
  /** sha256(Authorization header) → user, of recent successful checks (oldest first). */
  private readonly verified = new Map<string, { user: string; role: Role; until: number }>();
  /** sha256(Authorization header) → the check under way for it. */
  private readonly checking = new Map<string, Promise<AuthResult>>();
  private readonly passwords: PasswordCheck;

  constructor(
    private readonly access: HttpAccess | undefined,
    private readonly now: () => number = Date.now,
    private readonly cacheMs = 60_000,
    passwords?: PasswordCheck,
  ) {
    this.passwords = passwords ?? new PasswordCheck();
  }

  /** Whether requests must carry credentials at all. */
  get required(): boolean {
    return this.access?.authRequired === true;
  }

  /** What to put in WWW-Authenticate on a 401. */
  get challenge(): string {
    return this.access && this.access.users.size > 0 ? 'Basic realm="worker-pool", charset="UTF-8"' : 'Bearer realm="worker-pool"';
  }

  check(authorization: string | undefined): Promise<AuthResult> {
    if (!this.access || !authorization) return Promise.resolve({ ok: false });
    const digest = createHash('sha256').update(authorization).digest('hex');
    const hit = this.verified.get(digest);
    if (hit && hit.until > this.now()) return Promise.resolve({ ok: true, user: hit.user, role: hit.role });
    let running = this.checking.get(digest);
    if (!running) {
      running = this.verify(authorization, digest).finally(() => this.checking.delete(digest));
      this.checking.set(digest, running);
    }
    return running;
  }

  /** Stop the compare thread. */
  close(): Promise<void> {
    return this.passwords.close();
  }

  private async verify(authorization: string, digest: string): Promise<AuthResult> {
    const space = authorization.indexOf(' ');
    const scheme = authorization.slice(0, space).toLowerCase();
    const value = authorization.slice(space + 1).trim();
    let result: AuthResult = { ok: false };
    if (scheme === 'bearer') {
      if (this.bearer(value)) result = { ok: true, user: 'bearer', role: this.access!.tokenRole };
    } else if (scheme === 'basic') {
      result = await this.basic(value);
    }
    if (!result.ok) return result;
    this.verified.delete(digest);
    this.verified.set(digest, { user: result.user, role: result.role, until: this.now() + this.cacheMs });
    if (this.verified.size > CACHE_SIZE) this.verified.delete(this.verified.keys().next().value!);
    return result;
  }

  private bearer(token: string): boolean {
    const given = createHash('sha256').update(token).digest();
    // Every token is compared (same work whichever matches), in constant time each.
    let match = false;
    for (const t of this.access!.bearerTokens) match = timingSafeEqual(given, createHash('sha256').update(t).digest()) || match;
    return match;
  }

  private async basic(encoded: string): Promise<AuthResult> {
    const decoded = Buffer.from(encoded, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const users = this.access!.users;
    if (colon < 0 || users.size === 0) return { ok: false };
    const user = decoded.slice(0, colon);
    const known = users.get(user);
    // An unknown name is compared against a real user's hash (same cost, same queue) and fails
    // whatever the answer, so the time taken does not tell which names exist.
    const compare = this.passwords.compare(decoded.slice(colon + 1), known ?? users.values().next().value!);
    if (!compare) return { ok: false, busy: true };
    const match = await compare;
    return match && known !== undefined ? { ok: true, user, role: this.access!.roleOfUser(user) } : { ok: false };
  }
}
