/** The HTTP access file, the exposure rule, the Host check and the credential check, as pure units. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import { describe, expect, it } from 'vitest';
import { loadWithSecrets } from '../../src/config/secret-files.js';
import { HttpAuth } from '../../src/http/auth.js';
import { checkHttpExposure, httpConfigPath, isLoopback, loadHttpAccess, serverHttpAccess } from '../../src/config/http-access.js';
import { allowedHosts, hostAllowed, hostOf } from '../../src/http/host-check.js';
import { basicHeader, writeAccessFiles } from '../helpers/http-access.js';
import { configErrorOf as oneLineError } from '../helpers/config-error.js';


function accessFile(text: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'wp-http-unit-'));
  const file = path.join(dir, 'http.yml');
  writeFileSync(file, text);
  return file;
}

describe('HTTP access file', () => {
  it('reads users, a token file and TLS files relative to itself; toJSON shows no secret', () => {
    const a = writeAccessFiles({ tls: true });
    const access = loadHttpAccess(a.file);
    expect(access.authRequired).toBe(true);
    expect([...access.users.keys()]).toEqual([a.user]);
    expect(access.bearerTokens).toEqual([a.token]);
    expect(access.tls?.cert.toString()).toContain('BEGIN CERTIFICATE');
    const shown = JSON.stringify(access);
    expect(shown).not.toContain(a.token);
    expect(shown).not.toContain('$2');
    expect(shown).not.toContain('PRIVATE KEY');
  });

  it('refuses unknown keys, hashes that are not bcrypt, short tokens and missing files, in one line naming the key', () => {
    expect(oneLineError(() => loadHttpAccess(accessFile('basic_auth_user:\n  a: b\n')))).toMatch(/basic_auth_user .*unknown key; allowed keys are basic_auth_users/);
    expect(oneLineError(() => loadHttpAccess(accessFile('basic_auth_users:\n  alice: plain-password\n')))).toMatch(/basic_auth_users\.alice .*not a bcrypt hash/);
    expect(oneLineError(() => loadHttpAccess(accessFile('basic_auth_users:\n  alice: plain-password\n')))).not.toContain('plain-password');
    const short = accessFile('bearer_token_file: t\n');
    writeFileSync(path.join(path.dirname(short), 't'), 'abc\n');
    expect(oneLineError(() => loadHttpAccess(short))).toMatch(/shorter than 16 characters/);
    expect(oneLineError(() => loadHttpAccess(accessFile('tls_server_config:\n  cert_file: nope.pem\n  key_file: nope.key\n')))).toMatch(/tls_server_config\.cert_file: cannot read .*nope\.pem \(ENOENT\)/);
    expect(oneLineError(() => loadHttpAccess(accessFile('tls_server_config:\n  certfile: x\n')))).toMatch(/tls_server_config\.certfile .*unknown key/);
  });

  it('finds a relative --http-config in $CREDENTIALS_DIRECTORY (systemd LoadCredential=), else in cwd', () => {
    expect(httpConfigPath('http.yml', { CREDENTIALS_DIRECTORY: '/run/credentials/worker-pool@a.service' }, '/srv')).toBe('/run/credentials/worker-pool@a.service/http.yml');
    expect(httpConfigPath('http.yml', {}, '/srv')).toBe('/srv/http.yml');
    expect(httpConfigPath('/etc/wp/http.yml', { CREDENTIALS_DIRECTORY: '/run/c' }, '/srv')).toBe('/etc/wp/http.yml');
    const a = writeAccessFiles();
    const c = loadWithSecrets({ env: { CREDENTIALS_DIRECTORY: a.dir }, flags: { 'http-config': 'http.yml', 'metrics-host': '0.0.0.0' } });
    expect(c.httpAccess?.users.has(a.user)).toBe(true);
  });
});

describe('exposure rule', () => {
  it('refuses a non-loopback --metrics-host without authentication (exit 78 comes from ConfigError), unless --http-insecure', () => {
    const msg = oneLineError(() => loadWithSecrets({ env: {}, flags: { 'metrics-host': '0.0.0.0' } }));
    expect(msg).toMatch(/^metrics-host: "0\.0\.0\.0" is not allowed without authentication; give --http-config FILE .* or say --http-insecure/);
    expect(loadWithSecrets({ env: {}, flags: { 'metrics-host': '0.0.0.0', 'http-insecure': true } }).metricsHost).toBe('0.0.0.0');
    expect(loadWithSecrets({ env: { WORKER_POOL_HTTP_INSECURE: 'true' }, flags: { 'metrics-host': '10.1.2.3' } }).httpInsecure).toBe(true);
    // TLS alone is not authentication.
    const tlsOnly = writeAccessFiles({ tls: true, basic: false, bearer: false });
    expect(oneLineError(() => checkHttpExposure({ httpConfig: tlsOnly.file, httpInsecure: false, metricsHost: '192.0.2.1' }, {}, '/'))).toMatch(/without authentication/);
    for (const h of ['127.0.0.1', '127.0.0.53', '::1', '[::1]', 'localhost']) expect(isLoopback(h)).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', 'example.com']) expect(isLoopback(h)).toBe(false);
  });
});

describe('an access file this process cannot read', () => {
  it('other commands (check-config, routes outside the service) take it at its word; the daemon reads it at start', () => {
    // As `worker-pool routes --config orders.yml` run by an operator: $CREDENTIALS_DIRECTORY is the service's only.
    const c = loadWithSecrets({ env: {}, cwd: '/nonexistent', flags: { 'http-config': 'http-config.yml', 'metrics-host': '0.0.0.0' } });
    expect(c.httpAccess).toBeUndefined();
    expect(oneLineError(() => serverHttpAccess(c, {}, '/nonexistent'))).toMatch(/^http-config: cannot read \/nonexistent\/http-config\.yml \(ENOENT\)/);
    const a = writeAccessFiles({ tls: true, basic: false, bearer: false });
    expect(oneLineError(() => serverHttpAccess({ ...c, httpConfig: a.file }, {}, '/'))).toMatch(/without authentication/);
    const ok = writeAccessFiles();
    expect(serverHttpAccess({ ...c, httpConfig: 'http.yml' }, { CREDENTIALS_DIRECTORY: ok.dir }, '/')?.authRequired).toBe(true);
  });
});

describe('Host check', () => {
  it('answers the bind address, loopback names and configured names; refuses a rebinding name', () => {
    const loop = allowedHosts({ bind: '127.0.0.1', configured: ['pool.example.com'], local: ['10.9.9.9'] });
    for (const h of ['127.0.0.1:9464', 'localhost:9464', '[::1]:9464', 'POOL.example.com', 'pool.example.com:443']) expect(hostAllowed(h, loop)).toBe(true);
    for (const h of ['attacker.example:9464', '10.9.9.9:9464', 'localhost.attacker.example']) expect(hostAllowed(h, loop)).toBe(false);
    const any = allowedHosts({ bind: '0.0.0.0', configured: [], local: ['10.9.9.9', 'fe80::1', 'myhost'] });
    for (const h of ['10.9.9.9:9464', '[fe80::1]:9464', 'myhost:9464', '127.0.0.1']) expect(hostAllowed(h, any)).toBe(true);
    expect(hostAllowed('evil.example', any)).toBe(false);
    expect(hostAllowed(undefined, loop)).toBe(true);
    expect(hostOf('[::1]:80')).toBe('::1');
    expect(hostOf('::1')).toBe('::1');
  });
});

describe('credential check', () => {
  it('accepts the right basic password and bearer token, refuses everything else', async () => {
    const file = accessFile(`basic_auth_users:\n  alice: ${JSON.stringify(bcrypt.hashSync('s3cret', 4))}\n  bob: ${JSON.stringify(bcrypt.hashSync('other', 4).replace('$2b$', '$2y$'))}\nbearer_token_file: tokens\n`);
    writeFileSync(path.join(path.dirname(file), 'tokens'), '# rotated monthly\nfirst-token-0123456789\nsecond-token-0123456789\n');
    const auth = new HttpAuth(loadHttpAccess(file));
    expect(auth.required).toBe(true);
    expect(await auth.check(basicHeader('alice', 's3cret'))).toEqual({ ok: true, user: 'alice', role: 'read' });
    expect(await auth.check(basicHeader('alice', 's3cret'))).toEqual({ ok: true, user: 'alice', role: 'read' }); // remembered
    expect(await auth.check(basicHeader('bob', 'other'))).toEqual({ ok: true, user: 'bob', role: 'read' }); // htpasswd's $2y$
    expect(await auth.check(basicHeader('alice', 'wrong'))).toEqual({ ok: false });
    expect(await auth.check(basicHeader('mallory', 's3cret'))).toEqual({ ok: false });
    expect(await auth.check('Bearer second-token-0123456789')).toEqual({ ok: true, user: 'bearer', role: 'read' });
    expect(await auth.check('Bearer second-token-012345678')).toEqual({ ok: false });
    expect(await auth.check('Bearer ')).toEqual({ ok: false });
    expect(await auth.check('Digest x')).toEqual({ ok: false });
    expect(await auth.check(undefined)).toEqual({ ok: false });
    expect(auth.challenge).toMatch(/^Basic realm=/);
  });
});

describe('roles in the access file (issue 26.3)', () => {
  const hash = JSON.stringify(bcrypt.hashSync('pw', 4));

  it('gives every credential the role read unless user_roles or bearer_token_role says otherwise', () => {
    const file = accessFile(`basic_auth_users:\n  alice: ${hash}\n  prometheus: ${hash}\n  bob: ${hash}\nuser_roles:\n  alice: admin\n  prometheus: metrics\nbearer_token_file: t\n`);
    writeFileSync(path.join(path.dirname(file), 't'), 'a-token-of-twenty-chars\n');
    const access = loadHttpAccess(file);
    expect(['alice', 'prometheus', 'bob', 'nobody'].map((u) => access.roleOfUser(u))).toEqual(['admin', 'metrics', 'read', 'read']);
    expect(access.tokenRole).toBe('read');
    expect(access.hasAdmin).toBe(true);
    expect(JSON.parse(JSON.stringify(access))).toMatchObject({ users: { alice: 'admin', prometheus: 'metrics', bob: 'read' }, tokenRole: 'read' });
  });

  it('an existing token file stays read-only: no admin unless bearer_token_role: admin', () => {
    const a = writeAccessFiles({ basic: false });
    expect(loadHttpAccess(a.file).hasAdmin).toBe(false);
    writeFileSync(a.file, 'bearer_token_file: token\nbearer_token_role: metrics\n');
    expect(loadHttpAccess(a.file).tokenRole).toBe('metrics');
  });

  it('refuses a role that does not exist, a user_roles name that is not a user, and a token role without tokens, in one line', () => {
    expect(oneLineError(() => loadHttpAccess(accessFile(`basic_auth_users:\n  alice: ${hash}\nuser_roles:\n  alice: root\n`)))).toMatch(/user_roles\.alice in .*: "root" is not a role; allowed: metrics, read, admin/);
    expect(oneLineError(() => loadHttpAccess(accessFile(`basic_auth_users:\n  alice: ${hash}\nuser_roles:\n  eve: admin\n`)))).toMatch(/user_roles\.eve in .*: no such user in basic_auth_users/);
    expect(oneLineError(() => loadHttpAccess(accessFile(`basic_auth_users:\n  alice: ${hash}\nbearer_token_role: admin\n`)))).toMatch(/bearer_token_role in .*: there is no bearer_token_file/);
  });

  it('says the role with each successful check', async () => {
    const file = accessFile(`basic_auth_users:\n  alice: ${hash}\nuser_roles: { alice: admin }\nbearer_token_file: t\nbearer_token_role: metrics\n`);
    writeFileSync(path.join(path.dirname(file), 't'), 'a-token-of-twenty-chars\n');
    const auth = new HttpAuth(loadHttpAccess(file));
    expect(await auth.check(basicHeader('alice', 'pw'))).toEqual({ ok: true, user: 'alice', role: 'admin' });
    expect(await auth.check('Bearer a-token-of-twenty-chars')).toEqual({ ok: true, user: 'bearer', role: 'metrics' });
    await auth.close();
  });
});

describe('secret files every user can read (issue 26.10)', () => {
  it('are named with their mode in a warning; 0600 and 0640 are not', async () => {
    const { chmodSync } = await import('node:fs');
    const a = writeAccessFiles({ tls: true });
    for (const f of ['http.yml', 'token', 'key.pem']) chmodSync(path.join(a.dir, f), 0o600);
    chmodSync(path.join(a.dir, 'token'), 0o640);
    expect(loadHttpAccess(a.file).warnings).toEqual([]);
    chmodSync(a.file, 0o644);
    chmodSync(path.join(a.dir, 'token'), 0o604);
    chmodSync(path.join(a.dir, 'key.pem'), 0o666);
    expect(loadHttpAccess(a.file).warnings).toEqual([
      `http-config: the access file ${a.file} is readable by every user of this host (mode 0644); chmod o-rwx it (e.g. chmod 600, or 640 with the service's group)`,
      `http-config: bearer_token_file ${path.join(a.dir, 'token')} is readable by every user of this host (mode 0604); chmod o-rwx it (e.g. chmod 600, or 640 with the service's group)`,
      `http-config: tls_server_config.key_file ${path.join(a.dir, 'key.pem')} is writable by every user of this host (mode 0666); chmod o-rwx it (e.g. chmod 600, or 640 with the service's group)`,
    ]);
  });
});
