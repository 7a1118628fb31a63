// Helpers shared by the integration and browser tests: an HTTP client with a
// cookie jar that speaks the panel's forms, SQL against the private MariaDB,
// the bin/ programs, and Chromium. tests/run.sh sets the environment.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { assertContract } from './api_contract.mjs';

export const baseUrl = process.env.PROV_TEST_URL;
export const runDir = process.env.PROV_TEST_RUN;
export const binDir = process.env.PROV_TEST_BIN;
export const outputDir = process.env.PROV_TEST_OUTPUT;
export const configPath = process.env.PROV_CONFIG;
if (!baseUrl || !runDir || !binDir) {
  throw new Error('run these tests through tests/run.sh (PROV_TEST_URL is not set)');
}

// Run SQL as root over the private socket; returns rows as arrays of strings.
export function sql(query) {
  const r = spawnSync('mariadb', ['--no-defaults', `--socket=${runDir}/mysqld.sock`, '-uroot',
    '--batch', '--skip-column-names', '--raw', 'provisioning', '-e', query], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`sql failed: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
}

export function sqlValue(query) {
  const rows = sql(query);
  return rows.length ? rows[0][0] : undefined;
}

// Run a bin/ program; returns { status, stdout, stderr }.
export function runBin(name, args, { input = '', env = {} } = {}) {
  const r = spawnSync(path.join(binDir, name), args, {
    input, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function uniqueName(prefix) {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

// Create a user through prov-admin; returns its password.
export function createUser(name, role) {
  const password = `pw-${randomBytes(9).toString('hex')}`;
  const r = runBin('prov-admin', ['user', 'add', name, '--role', role], { input: `${password}\n` });
  if (r.status !== 0) throw new Error(`prov-admin user add failed: ${r.stderr}`);
  return password;
}

export function csrfFrom(html) {
  const m = /name="csrf_token" value="([0-9a-f]{64})"/.exec(html);
  return m ? m[1] : undefined;
}

// The Set-Cookie lines of a fetch response. Node 18's Headers has no
// getSetCookie(): it joins them into one value with ", ". A cookie's own value
// has a comma only in an Expires date ("Thu, 01 Jan"), where no "name=" follows
// the comma, so a split before ", name=" gives the lines back on every Node.
export function setCookies(headers) {
  const joined = headers.get('set-cookie');
  return joined === null ? [] : joined.split(/, *(?=[^=;, ]+=)/);
}

// One request from a chosen loopback source address (127.0.0.0/8 all reach
// the server): { status, headers (a Headers), text }.
function requestFrom(localAddress, method, url, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, localAddress, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const h = new Headers();
        for (let i = 0; i < res.rawHeaders.length; i += 2) h.append(res.rawHeaders[i], res.rawHeaders[i + 1]);
        resolve({ status: res.statusCode, headers: h, text: Buffer.concat(chunks).toString('utf8') });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

// A random loopback address other than 127.0.0.1, for tests that count
// failed logins per source address apart from every other test's.
export function loopbackAddress() {
  const b = randomBytes(3);
  return `127.${b[0]}.${b[1]}.${(b[2] % 253) + 2}`;
}

// An HTTP client with a cookie jar; redirects are returned, not followed.
// localAddress: the source address its requests come from (default: the system's);
// base: the server (default: the instance's Apache, PROV_TEST_URL).
export class Client {
  constructor({ localAddress, base = baseUrl } = {}) {
    this.cookies = new Map(); this.localAddress = localAddress; this.base = base;
  }

  cookieHeader() {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  remember(response) {
    for (const line of setCookies(response.headers)) {
      const [pair] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (value === '' || /max-age=0/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  async request(method, urlPath, { form, body, headers = {} } = {}) {
    const h = { ...headers };
    if (this.cookies.size) h.cookie = this.cookieHeader();
    let payload = body;
    if (form) {
      h['content-type'] = 'application/x-www-form-urlencoded';
      payload = new URLSearchParams(form).toString();
    }
    if (this.localAddress) {
      if (payload !== undefined) h['content-length'] = Buffer.byteLength(payload);
      const r = await requestFrom(this.localAddress, method, this.base + urlPath, h, payload);
      this.remember(r);
      return { ...r, location: r.headers.get('location') };
    }
    const response = await fetch(this.base + urlPath, { method, headers: h, body: payload, redirect: 'manual' });
    this.remember(response);
    const text = await response.text();
    return { status: response.status, headers: response.headers, text, location: response.headers.get('location') };
  }

  get(urlPath, opts) { return this.request('GET', urlPath, opts); }

  post(urlPath, form, opts = {}) { return this.request('POST', urlPath, { ...opts, form }); }

  // GET page, then POST form to action with the page's CSRF token added.
  async submit(pagePath, action, form) {
    const page = await this.get(pagePath);
    const token = csrfFrom(page.text);
    if (!token) throw new Error(`no csrf token on ${pagePath} (status ${page.status})`);
    return this.post(action, { csrf_token: token, ...form });
  }

  async login(name, password) {
    const r = await this.submit('/login', '/login', { username: name, password });
    if (r.status !== 303) throw new Error(`login of ${name} failed: ${r.status}`);
    return r;
  }
}

// A logged-in client for a fresh user of the given role (base: as Client's).
export async function clientAs(role, { base } = {}) {
  const name = uniqueName(role);
  const password = createUser(name, role);
  const client = new Client({ base });
  await client.login(name, password);
  client.userName = name;
  return client;
}

// Debian's Chromium through playwright-core (no browser download).
export async function launchBrowser() {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
}

// Create an API key for user through prov-admin; returns the key.
export function createApiKey(userName, keyName = 'test key') {
  const r = runBin('prov-admin', ['apikey', 'create', userName, keyName]);
  if (r.status !== 0) throw new Error(`prov-admin apikey create failed: ${r.stderr}`);
  return r.stdout.trim();
}

// A call to the JSON API; returns { status, headers, json, text }. Every
// response is checked against static/openapi.json (tests/lib/api_contract.mjs):
// one that breaks it throws, failing the test that made the call.
// base: the server (default: the instance's Apache, PROV_TEST_URL).
export async function api(method, urlPath, {
  key, body, rawBody, contentType = 'application/json', headers = {}, base = baseUrl,
} = {}) {
  const h = { ...headers };
  if (key !== undefined) h['x-api-key'] = key;
  let payload;
  if (body !== undefined) payload = JSON.stringify(body);
  if (rawBody !== undefined) payload = rawBody;
  if (payload !== undefined && contentType) h['content-type'] = contentType;
  const response = await fetch(`${base}/api/v1${urlPath}`, { method, headers: h, body: payload, redirect: 'manual' });
  const text = await response.text();
  assertContract(method, urlPath, response.status, response.headers, text);
  let json;
  try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
  return { status: response.status, headers: response.headers, json, text };
}

// A user of the given role with an API key: { name, key }.
export function apiUser(role) {
  const name = uniqueName(`api-${role}`);
  createUser(name, role);
  return { name, key: createApiKey(name) };
}

// A new browser page logged in as a fresh user of role. errors collects script
// errors and Content-Security-Policy violations for the test to assert on.
export async function loggedInPage(browser, role, { viewport = { width: 1280, height: 800 }, prefix = role } = {}) {
  const name = uniqueName(prefix);
  const password = createUser(name, role);
  const page = await browser.newPage({ viewport });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (/Content Security Policy|Refused to/.test(m.text())) errors.push(m.text()); });
  await page.goto(`${baseUrl}/login`);
  await page.fill('#username', name);
  await page.fill('#password', password);
  await page.click('button[type=submit]');
  await page.waitForURL(/\/handlers$/);
  return { page, name, errors };
}
