// What both browser tests (dashboard.test.mjs, merchant.test.mjs) need besides the
// page: where the binary and Chromium are, a free port, the service's environment
// for a test (a fresh SQLite file, cheap hashes, no rate limits), and a small HTTP
// API client that makes the tests' data exactly as API.md describes.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = process.env.WENLV_BIN || path.join(ROOT, 'target/debug/wenlv');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const SHOTS = path.join(ROOT, 'target');

/** A TCP port nobody listens on right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** The service's environment on `workdir`'s SQLite file and `port`, plus `extra`. */
export function serviceEnv(workdir, port, extra = {}) {
  return {
    ...process.env,
    WENLV_CONFIG_DIR: path.join(ROOT, 'config'),
    DATABASE_URL: path.join(workdir, 'wenlv.db'),
    WENLV__SERVER__HOST: '127.0.0.1',
    WENLV__SERVER__PORT: String(port),
    WENLV__RATE_LIMIT__ENABLED: 'false',
    // Cheap hashes, as in the API tests (config/test.toml's argon2 section).
    WENLV__AUTH__ARGON2__MEMORY_KIB: '1024',
    WENLV__AUTH__ARGON2__ITERATIONS: '1',
    WENLV__LOG__LEVEL: 'warn',
    ...extra,
  };
}

/** A valid unified social credit code (GB 32100) for `n` in a test's `series`. */
export function creditCode(n, series) {
  const alphabet = '0123456789ABCDEFGHJKLMNPQRTUWXY';
  const weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];
  const first = '91131000' + series + String(n).padStart(7, '0');
  const sum = [...first].reduce((acc, c, i) => acc + alphabet.indexOf(c) * weights[i], 0);
  return first + alphabet[(31 - (sum % 31)) % 31];
}

/**
 * An API client for the service at `baseUrl()` (read at each call: the test sets
 * it once the server is up). Residents it registers share `password`; merchants it
 * applies for get credit codes of `series`.
 */
export function apiClient(baseUrl, password, series) {
  let phoneCounter = 0;

  /** Calls the API; asserts the status; returns the JSON body. */
  async function call(method, urlPath, { token, body, expect } = {}) {
    const headers = {};
    if (token) headers.Authorization = 'Bearer ' + token;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(baseUrl() + '/api/v1' + urlPath, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    if (expect !== undefined) assert.equal(res.status, expect, `${method} ${urlPath}: ${text}`);
    return text ? JSON.parse(text) : null;
  }

  async function login(phone, pass) {
    return (await call('POST', '/auth/login', { body: { phone, password: pass }, expect: 200 })).access_token;
  }

  /** A new resident, signed in: `{id, phone, name, token}`. */
  async function resident(name) {
    const phone = '139' + String(++phoneCounter).padStart(8, '0');
    const user = await call('POST', '/auth/register', { body: { phone, password, display_name: name }, expect: 201 });
    return { id: user.id, phone, name, token: await login(phone, password) };
  }

  /** `owner` applies for a bookshop named `name`; returns the application. */
  async function applyMerchant(owner, name, n) {
    return call('POST', '/merchants', {
      token: owner.token,
      expect: 201,
      body: { name, license_no: creditCode(n, series), category: 'bookstore', district: 'guangyang', address: '廊坊市广阳区新华路 1 号', contact_phone: '0316-2345678' },
    });
  }

  return { call, login, resident, applyMerchant };
}
