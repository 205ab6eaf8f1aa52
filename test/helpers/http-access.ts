/** Writing HTTP access files (--http-config) and TLS certificates for tests. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import bcrypt from 'bcryptjs';

export interface AccessFiles {
  dir: string;
  /** The --http-config file. */
  file: string;
  user: string;
  password: string;
  token: string;
  /** The self-signed certificate (for 127.0.0.1 and localhost), when TLS was asked for. */
  certFile?: string;
}

export interface AccessOptions {
  tls?: boolean;
  basic?: boolean;
  bearer?: boolean;
  hostNames?: string[];
  /** More basic auth users (name → password), e.g. an admin. */
  users?: Record<string, string>;
  /** user_roles of the file. */
  roles?: Record<string, string>;
  /** bearer_token_role of the file. */
  tokenRole?: string;
}

/** A directory with an access file: one basic auth user, one bearer token, and TLS if asked. */
export function writeAccessFiles(opts: AccessOptions = {}): AccessFiles {
  const dir = mkdtempSync(path.join(tmpdir(), 'wp-http-'));
  const user = 'scraper';
  const password = 'correct horse battery staple';
  const token = 'tok-' + 'a1b2c3d4'.repeat(4);
  const lines: string[] = [];
  if (opts.basic !== false || opts.users) lines.push('basic_auth_users:');
  if (opts.basic !== false) lines.push(`  ${user}: ${JSON.stringify(bcrypt.hashSync(password, 4))}`);
  for (const [name, pw] of Object.entries(opts.users ?? {})) lines.push(`  ${name}: ${JSON.stringify(bcrypt.hashSync(pw, 4))}`);
  if (opts.roles) lines.push(`user_roles: ${JSON.stringify(opts.roles)}`);
  if (opts.tokenRole) lines.push(`bearer_token_role: ${opts.tokenRole}`);
  if (opts.bearer !== false) {
    writeFileSync(path.join(dir, 'token'), `${token}\n`);
    lines.push('bearer_token_file: token');
  }
  let certFile: string | undefined;
  if (opts.tls) {
    certFile = path.join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', path.join(dir, 'key.pem'), '-out', certFile], { stdio: 'ignore' });
    lines.push('tls_server_config:', '  cert_file: cert.pem', '  key_file: key.pem');
  }
  if (opts.hostNames) lines.push(`host_names: ${JSON.stringify(opts.hostNames)}`);
  const file = path.join(dir, 'http.yml');
  writeFileSync(file, lines.join('\n') + '\n');
  return { dir, file, user, password, token, ...(certFile ? { certFile } : {}) };
}

export function basicHeader(user: string, password: string): string {
  return 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64');
}
