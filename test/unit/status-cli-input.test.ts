/**
 * Issue 26, item 10: what `worker-pool status` reads and prints. A token file may open with `#`
 * comment lines (the access file's own token file allows them), and the first token is sent, not the
 * comment; names that came from Redis (hosts, queues) reach the terminal with their control
 * characters shown, never obeyed.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentials, runStatus } from '../../src/cli/status.js';

const ESC = '\x1b';
const dir = mkdtempSync(path.join(tmpdir(), 'wp-status-'));

describe('status --token-file', () => {
  it('skips blank and # comment lines and sends the first token', () => {
    const file = path.join(dir, 'token');
    writeFileSync(file, '# the token Prometheus uses\n\n  # rotated 2026-01-01\nabcdef0123456789abcdef\nsecond-token-0123456789\n');
    expect(credentials({ tokenFile: file })).toBe('Bearer abcdef0123456789abcdef');
  });

  it('says so in one line when the file holds only comments', () => {
    const file = path.join(dir, 'only-comments');
    writeFileSync(file, '# nothing here\n');
    expect(() => credentials({ tokenFile: file })).toThrow(/--token-file .*only-comments: the file holds no token/);
  });

  it('keeps a password that starts with # (a password file has no comments)', () => {
    const file = path.join(dir, 'password');
    writeFileSync(file, '#hash-sign-password\n');
    expect(credentials({ user: 'u', passwordFile: file })).toBe(`Basic ${Buffer.from('u:#hash-sign-password').toString('base64')}`);
  });
});

describe('status --fleet with escape sequences in what Redis holds', () => {
  let server: http.Server;
  let url = '';
  const evilHost = `${ESC}]0;owned${'\x07'}${ESC}[2J${ESC}[1;1Hhost\x9b31m`;
  const fleet = {
    instances: [
      { host: evilHost, name: `n${ESC}[31m`, pid: 1, pool: 'p\r', queues: [`q${ESC}[8m`], workers: 1, busy: 0, concurrency: 1, utilization: 0, heartbeatAgeSeconds: 0.2, state: 'live' },
    ],
  };
  beforeAll(async () => {
    server = http.createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(fleet));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('prints them as \\xNN, so the terminal obeys none of them', async () => {
    const out: string[] = [];
    expect(await runStatus({ url, json: false, fleet: true }, (l) => out.push(l))).toBe(0);
    const text = out.join('\n');
    expect(text).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f]/);
    expect(text).toContain('\\x1b]0;owned\\x07\\x1b[2J\\x1b[1;1Hhost\\x9b31m');
    expect(text).toContain('q\\x1b[8m');
  });

  it('leaves --json as JSON (which escapes them itself)', async () => {
    const out: string[] = [];
    await runStatus({ url, json: true, fleet: true }, (l) => out.push(l));
    expect(out.join('\n')).not.toContain(ESC);
    expect(JSON.parse(out.join('\n'))).toEqual(fleet);
  });
});
