// Execution Logs: filters alone and combined, keyset paging both ways, bounded
// reads, bad input, details of each kind of execution, purge, generator.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { binDir, clientAs, runBin, sql, sqlValue } from '../lib/panel.mjs';
import { run } from '../lib/dispatch.mjs';

const token = `tok${randomBytes(5).toString('hex')}`;
let admin;
let viewer;
let h1; // a handler with a handlers row; its event changed once (create, then update)
let h2; // a handler with a handlers row
const h3 = 4000000000 + Math.floor(Math.random() * 1000000); // deleted: no handlers row
const h3Name = `gone-${token}`;
let from; // the fixture's date window (UTC, minutes)
let to;

const q = (s) => `'${String(s).replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
const nullable = (v) => (v === null || v === undefined ? 'NULL' : q(v));

function insertLog(row) {
  const r = {
    status: 'success', events_id: 'clients.create', handler_id: h1, handler_name: 'h', object_id: 1,
    event_uid: randomBytes(8).toString('hex'), delivery_id: randomUUID(), attempt: 1,
    trigger_kind: 'dispatch', redelivery_of: null, http_status: 200, exit_code: null, duration_us: 1234,
    request_body: '{"event":{"id":"x"},"data":{}}', request_headers: null, response_body: null,
    response_headers: null, response_truncated: 0, script_stderr: null, error: null, ...row,
  };
  const cols = Object.keys(r);
  const vals = cols.map((c) => (typeof r[c] === 'number' ? String(r[c]) : nullable(r[c])));
  return Number(sqlValue(`INSERT INTO exec_logs (${cols.join(', ')}) VALUES (${vals.join(', ')}); SELECT LAST_INSERT_ID()`));
}

function addHandler(name, event) {
  return Number(sqlValue(`INSERT INTO handlers (name, events_id, task, task_type, status, priority, created_at, updated_at)
    VALUES (${q(name)}, ${q(event)}, 'http://127.0.0.1:9/hook', 'http', 'enabled', 5, UTC_TIMESTAMP(), UTC_TIMESTAMP());
    SELECT LAST_INSERT_ID()`));
}

const pad = (n) => String(n).padStart(2, '0');
const fmt = (d) => `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
const fmtSeconds = (d) => `${fmt(d)}:${pad(d.getUTCSeconds())}`;

// 80 rows over ~2 minutes, 20 days ago, in groups of 4 sharing one dt (ties
// across page boundaries), inserted out of dt order (as a spool replay would).
function insertFixture() {
  const start = new Date(Date.now() - 20 * 86400000);
  start.setUTCSeconds(0, 0);
  from = fmt(start);
  to = fmt(new Date(start.getTime() + 4 * 60000));
  const order = Array.from({ length: 80 }, (_, i) => i).sort((a, b) => ((a * 37) % 80) - ((b * 37) % 80));
  for (const i of order) {
    const handler = [h1, h2, h3][i % 3];
    const event = handler === h1 ? (i % 5 === 0 ? 'clients.update' : 'clients.create')
      : handler === h2 ? 'clients.accounts.delete' : 'clients.subscriptions.renew';
    const fail = i % 4 === 0;
    const dt = new Date(start.getTime() + Math.floor(i / 4) * 6000 + 123);
    insertLog({
      dt: `${fmtSeconds(dt)}.000123`, status: fail ? 'fail' : 'success', events_id: event, handler_id: handler,
      handler_name: handler === h3 ? h3Name : `fixture-${handler}`, object_id: 1000 + i,
      http_status: fail ? 500 : 200,
      error: fail ? (i % 8 === 0 ? `connection refused ${i % 16 === 0 ? token : ''}` : 'HTTP 500 from handler') : null,
      response_body: fail ? '<h1>500</h1>' : `{"ok":true,"n":${i}${i % 6 === 1 ? `,"note":"${token}"` : ''}}`,
    });
  }
}

// The handler filter is a select up to 100 handlers, an id field above: the
// handlers other test files left behind wait aside while this file runs, so
// that it decides how many there are.
const aside = `handlers_aside_${token}`;
before(() => {
  sql(`CREATE TABLE ${aside} LIKE handlers; INSERT INTO ${aside} SELECT * FROM handlers; DELETE FROM handlers`);
});
after(() => {
  sql(`INSERT INTO handlers SELECT * FROM ${aside} WHERE id NOT IN (SELECT id FROM handlers); DROP TABLE ${aside}`);
});

before(async () => {
  admin = await clientAs('admin');
  viewer = await clientAs('viewer');
  h1 = addHandler(`Fixture CRM sync ${token}`, 'clients.update');
  h2 = addHandler(`Fixture accounts ${token}`, 'clients.accounts.delete');
  insertFixture();
});

function parsePage(r) {
  const ids = [...r.text.matchAll(/<tr data-id="(\d+)"/g)].map((m) => Number(m[1]));
  const link = (id) => {
    const m = new RegExp(`href="([^"]*)" id="${id}"`).exec(r.text);
    return m ? m[1].replace(/&amp;/g, '&') : null;
  };
  return { status: r.status, ids, older: link('page-older'), newer: link('page-newer'), newest: link('page-newest'), text: r.text };
}

async function getPage(client, path) {
  const p = parsePage(await client.get(path));
  assert.equal(p.status, 200, `${path} answered ${p.status}`);
  return p;
}

// Every page from the first, following "Older"; then back, following "Newer".
async function crawl(client, params) {
  const first = `/logs?${new URLSearchParams(params)}`;
  const forward = [];
  let page = await getPage(client, first);
  forward.push(page.ids);
  while (page.older) {
    assert.ok(forward.length < 50, 'paging ends');
    page = await getPage(client, page.older);
    forward.push(page.ids);
  }
  const backward = [page.ids];
  while (page.newer) {
    assert.ok(backward.length < 50, 'paging back ends');
    page = await getPage(client, page.newer);
    backward.unshift(page.ids);
  }
  return { forward, backward };
}

// The database's answer: the same filters, newest first by (dt, id).
function truth(where) {
  return sql(`SELECT id FROM exec_logs WHERE dt >= ${q(from)} AND dt < ${q(`${to}:00`)} + INTERVAL 1 MINUTE
    AND handler_id IN (${h1}, ${h2}, ${h3}) ${where ? `AND ${where}` : ''} ORDER BY dt DESC, id DESC`).map((r) => Number(r[0]));
}

test('newest first, paging forward and back across ties loses and repeats nothing', async () => {
  const { forward, backward } = await crawl(viewer, { from, to });
  const expected = truth('');
  assert.equal(expected.length, 80);
  assert.deepEqual(forward.flat(), expected);
  assert.deepEqual(forward.map((p) => p.length), [25, 25, 25, 5]);
  assert.deepEqual(backward, forward, 'the same pages on the way back');
});

test('each filter alone and combined lists exactly the matching rows', async () => {
  const cases = [
    [{ handler: h1 }, `handler_id = ${h1}`],
    [{ handler: h3 }, `handler_id = ${h3}`],
    [{ event: 'clients.accounts.delete' }, "events_id = 'clients.accounts.delete'"],
    [{ status: 'fail' }, "status = 'fail'"],
    [{ status: 'success' }, "status = 'success'"],
    [{ q: token }, `(error LIKE '%${token}%' OR response_body LIKE '%${token}%')`],
    [{ q: 'CONNECTION REFUSED' }, "error LIKE '%connection refused%'"],
    [{ handler: h1, status: 'fail' }, `handler_id = ${h1} AND status = 'fail'`],
    [{ event: 'clients.create', status: 'success' }, "events_id = 'clients.create' AND status = 'success'"],
    [{ handler: h1, event: 'clients.update' }, `handler_id = ${h1} AND events_id = 'clients.update'`],
    [{ handler: h1, event: 'clients.update', status: 'fail' }, `handler_id = ${h1} AND events_id = 'clients.update' AND status = 'fail'`],
    [{ handler: h2, event: 'clients.create' }, '0'],
    [{ q: token, status: 'success' }, `status = 'success' AND response_body LIKE '%${token}%'`],
    [{ handler: h3, status: 'success', q: '"ok":true' }, `handler_id = ${h3} AND status = 'success'`],
  ];
  for (const [filters, where] of cases) {
    const { forward, backward } = await crawl(viewer, { ...filters, from, to });
    const expected = truth(where);
    assert.deepEqual(forward.flat(), expected, JSON.stringify(filters));
    assert.deepEqual(backward.flat(), expected, `${JSON.stringify(filters)} backwards`);
  }
  // Date From / To alone narrow to the minute; To includes the minute given.
  const mid = new Date(new Date(`${from}:00Z`).getTime() + 60000);
  const { forward } = await crawl(viewer, { from: fmt(mid), to: fmt(mid) });
  const mine = new Set(truth(''));
  const inMinute = sql(`SELECT id FROM exec_logs WHERE dt >= ${q(`${fmt(mid)}:00`)} AND dt < ${q(`${fmt(mid)}:00`)} + INTERVAL 1 MINUTE ORDER BY dt DESC, id DESC`).map((r) => Number(r[0]));
  assert.deepEqual(forward.flat(), inMinute);
  assert.equal(inMinute.filter((id) => mine.has(id)).length, 40, 'ten tie groups of four in that minute');
});

test('page links keep the longest filters whole', async () => {
  const text = 'é'.repeat(200);
  const anyId = Number(sqlValue('SELECT MAX(id) FROM exec_logs'));
  const r = await viewer.get(`/logs?q=${encodeURIComponent(text)}&event=clients.custom_fields.update&before=${anyId}`);
  assert.equal(r.status, 200);
  const newest = parsePage(r).newest;
  assert.equal(newest, `/logs?event=clients.custom_fields.update&q=${'%C3%A9'.repeat(200)}`);
});

test('the filters live in the query string and the form shows them', async () => {
  const page = await viewer.get(`/logs?handler=${h1}&status=fail&event=clients.create&q=${token}&from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`);
  assert.equal(page.status, 200);
  assert.match(page.text, new RegExp(`<option value="${h1}" selected>`));
  assert.match(page.text, /<option value="fail" selected>/);
  assert.match(page.text, /<option value="clients.create" selected>Clients &rsaquo; create<\/option>/);
  assert.match(page.text, new RegExp(`name="q" type="search" maxlength="200" value="${token}"`));
  assert.ok(page.text.includes(`value="${from}"`));
  // The heading names the handler the logs icon pre-filtered on; a deleted one by its logged name.
  assert.match(page.text, new RegExp(`id="handler-heading">&middot; Fixture CRM sync ${token}</span>`));
  const gone = await viewer.get(`/logs?handler=${h3}`);
  assert.match(gone.text, new RegExp(`id="handler-heading">&middot; ${h3Name} \\(deleted\\)</span>`));
  assert.match(gone.text, new RegExp(`<option value="${h3}" selected>#${h3} ${h3Name} \\(deleted\\)</option>`));
  // Rows link to their details and their handler's logs; status icons differ.
  assert.match(gone.text, /<a href="\/logs\/\d+" class="log-link">/);
  assert.match(gone.text, new RegExp(`<a href="/logs\\?handler=${h3}" title="Logs of this handler">`));
  assert.match(gone.text, /class="result result-success" title="Success"/);
  assert.match(gone.text, /class="result result-fail" title="Fail"/);
});

test('over 100 handlers the handler filter is an id field: the page stays small, the chosen handler is named', async () => {
  const count = Number(sqlValue('SELECT COUNT(*) FROM handlers'));
  assert.ok(count <= 100, `this file's own handlers: ${count}`);
  let page = await viewer.get('/logs');
  assert.equal((page.text.match(/<option value="\d+"/g) || []).length, count, 'one option per handler');
  sql(`SET SESSION max_recursive_iterations = 1000;
    INSERT INTO handlers (name, events_id, task, task_type, status, priority, created_at, updated_at)
    WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < ${101 - count})
    SELECT CONCAT('many ${token} ', n), 'clients.update', 'http://127.0.0.1:9/h', 'http', 'enabled', 1,
           UTC_TIMESTAMP(), UTC_TIMESTAMP() FROM seq`);
  try {
    page = await viewer.get('/logs');
    assert.equal(page.status, 200);
    assert.doesNotMatch(page.text, /<option value="\d+"/, 'no handler options');
    assert.match(page.text, /<input id="f-handler" name="handler" type="text" inputmode="numeric"[^>]* value=""/);
    page = await viewer.get(`/logs?handler=${h1}`);
    assert.match(page.text, new RegExp(`<input id="f-handler" name="handler"[^>]* value="${h1}"`));
    assert.match(page.text, new RegExp(`id="handler-heading">&middot; Fixture CRM sync ${token}</span>`));
    page = await viewer.get(`/logs?handler=${h3}`);
    assert.match(page.text, new RegExp(`id="handler-heading">&middot; ${h3Name} \\(deleted\\)</span>`));
    page = await viewer.get('/logs?handler=abc');
    assert.equal(page.status, 422);
    assert.match(page.text, /<input id="f-handler"[^>]* value="abc" aria-invalid="true">/, 'what was typed, marked');
  } finally {
    sql(`DELETE FROM handlers WHERE name LIKE 'many ${token} %'`);
  }
  page = await viewer.get('/logs');
  assert.equal((page.text.match(/<option value="\d+"/g) || []).length, count, 'a select again');
});

const readCounter = () => Number(sqlValue(`SELECT SUM(VARIABLE_VALUE) FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME IN
  ('HANDLER_READ_NEXT','HANDLER_READ_PREV','HANDLER_READ_RND_NEXT','HANDLER_READ_FIRST','HANDLER_READ_LAST','HANDLER_READ_KEY','HANDLER_READ_RND')`));

// Rows MariaDB read to answer one page (nothing else runs during the tests).
async function rowsRead(client, path) {
  const before0 = readCounter();
  const r = await client.get(path);
  const read = readCounter() - before0;
  return { r, read };
}

test('no filter reads more than a page, and a text search at most its window', async () => {
  const gen = runBin('prov-loggen', ['--rows', '12000', '--days', '2', '--handlers', '6', '--seed', '5']);
  assert.equal(gen.status, 0, gen.stderr);
  const total = Number(sqlValue('SELECT COUNT(*) FROM exec_logs'));
  assert.ok(total > 12000);
  const genHandler = 900000003;
  const lastId = Number(sqlValue('SELECT MAX(id) FROM exec_logs'));
  const paths = ['/logs', '/logs?status=fail', '/logs?event=clients.update', `/logs?handler=${genHandler}`,
    `/logs?handler=${genHandler}&status=fail`, '/logs?event=clients.update&status=fail',
    `/logs?handler=${genHandler}&event=clients.delete&status=success`, `/logs?handler=${h2}&event=clients.create`,
    `/logs?before=${lastId - 9000}`, `/logs?after=${lastId - 9000}`, `/logs?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`,
    '/logs?from=2001-01-01&to=2001-01-31', `/logs?status=fail&handler=${h3}`];
  for (const path of paths) {
    const { r, read } = await rowsRead(viewer, path);
    assert.equal(r.status, 200, path);
    assert.ok(read < 1000, `${path} read ${read} rows of ${total}`);
  }
  for (const path of ['/logs?q=no-such-text-anywhere', `/logs?q=${token}`, '/logs?q=%25&status=fail', `/logs?q=x&before=${lastId - 6000}`]) {
    const { r, read } = await rowsRead(viewer, path);
    assert.equal(r.status, 200, path);
    assert.ok(read <= 2 * 5000 + 1000, `${path} read ${read} rows of ${total}`);
  }
});

test('a text search that runs out of window says so and continues older', async () => {
  const old = insertLog({ dt: fmtSeconds(new Date(Date.now() - 40 * 86400000)), handler_id: h2, handler_name: 'old', events_id: 'clients.accounts.delete',
    response_body: `{"needle":"deep-${token}"}` });
  let page = parsePage(await viewer.get(`/logs?q=deep-${token}`));
  assert.equal(page.status, 200);
  assert.deepEqual(page.ids, []);
  assert.match(page.text, /id="search-window">The text search reads 5000 entries at a time; it has looked back to \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/);
  assert.match(page.text, /No matches in this stretch of the log\./);
  let hops = 0;
  while (page.ids.length === 0) {
    const more = /href="([^"]*)" id="search-older"/.exec(page.text);
    assert.ok(more, 'a link to search older entries');
    page = parsePage(await viewer.get(more[1].replace(/&amp;/g, '&')));
    assert.ok(++hops < 20);
  }
  assert.deepEqual(page.ids, [old]);
  assert.equal(page.older, null, 'the end of the log');
  assert.ok(page.newer, 'and a way back');
});

test('LIKE wildcards in the search text are literal', async () => {
  const a = insertLog({ dt: `${from}:30`, handler_id: h2, response_body: `50%off-${token}` });
  insertLog({ dt: `${from}:31`, handler_id: h2, response_body: `50Xoff-${token}` });
  const page = parsePage(await viewer.get(`/logs?q=${encodeURIComponent(`50%off-${token}`)}&from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`));
  assert.deepEqual(page.ids, [a]);
  const under = parsePage(await viewer.get(`/logs?q=${encodeURIComponent(`50_off-${token}`)}&from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`));
  assert.deepEqual(under.ids, []);
});

test('bad input gets a clear message or an empty result, never an error page', async () => {
  const refused = [
    ['handler=abc', /Handler must be a handler id/],
    ['handler=0', /Handler must be a handler id/],
    ['handler=-5', /Handler must be a handler id/],
    ['handler=99999999999999999999999', /Handler must be a handler id/],
    ['status=maybe', /Status must be success, fail or waiting/],
    ['event=clients.nope', /Unknown event &#39;clients.nope&#39;. Valid events: clients.create, /],
    ['from=2026-13-45', /Date From must be a real date/],
    ['to=2026-02-30', /Date To must be a real date/],
    ['from=2026-03-02&to=2026-03-01', /Date To is before Date From/],
    [`q=${'x'.repeat(5000)}`, /Search text is longer than 200 characters/],
    ['q=%FF%FE', /Search text must be plain text/],
    ['before=abc', /This page link is not valid/],
    ['before=5&after=6', /use before or after, not both/],
  ];
  for (const [qs, message] of refused) {
    const r = await viewer.get(`/logs?${qs}`);
    assert.equal(r.status, 422, qs);
    assert.match(r.text, message, qs);
    assert.match(r.text, /id="log-filters"/, 'the form is still there to correct');
    assert.doesNotMatch(r.text, /<tr data-id=/);
    assert.doesNotMatch(r.text, /SQL|mysql|NEOERR|Traceback/i);
  }
  for (const text of ["' OR 1=1 -- ", '"; DROP TABLE exec_logs; --', '<script>alert(1)</script>', '%', '_', '\\']) {
    const r = await viewer.get(`/logs?q=${encodeURIComponent(text)}&from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`);
    assert.equal(r.status, 200, text);
    assert.ok(!r.text.includes('<script>alert(1)</script>'), 'never echoed raw');
    assert.doesNotMatch(r.text, /SQL|mysql|NEOERR/i);
  }
  const echoed = await viewer.get('/logs?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E');
  assert.ok(echoed.text.includes('value="&lt;script&gt;alert(1)&lt;/script&gt;"'));
  assert.equal(Number(sqlValue('SELECT COUNT(*) > 0 FROM exec_logs')), 1, 'the table is still there');
  // A page link to a row that is gone: the newest page with a notice.
  const gone = await viewer.get('/logs?before=999999999999');
  assert.equal(gone.status, 200);
  assert.match(gone.text, /id="cursor-missing"/);
  for (const path of ['/logs/abc', '/logs/0', '/logs/-1', '/logs/999999999999', '/logs/1x']) {
    const r = await viewer.get(path);
    assert.equal(r.status, 404, path);
    assert.match(r.text, /There is no such (page|execution log entry)/);
  }
});

test('details of a success show the envelope and response pretty-printed and escaped', async () => {
  const delivery = randomUUID();
  const first = insertLog({ dt: fmtSeconds(new Date(Date.now() - 3600000)), status: 'fail', http_status: 503, handler_id: h1,
    handler_name: 'CRM <sync>', delivery_id: delivery, error: 'HTTP 503 from handler', response_body: 'busy' });
  const id = insertLog({
    dt: fmtSeconds(new Date(Date.now() - 3000000)), handler_id: h1, handler_name: 'CRM <sync>', events_id: 'clients.balance_zero',
    object_id: 77, event_uid: 'evt-123', delivery_id: delivery, attempt: 2, trigger_kind: 'retry', http_status: 200, duration_us: 12345,
    request_body: '{"event":{"id":"evt-123","events_id":"clients.balance_zero","object_id":77},"data":{"balance":-0.50,"name":"<b>Bob</b>"}}',
    request_headers: 'Content-Type: application/json\r\nX-Prov-Delivery: d\r\n',
    response_body: '{"data":{"balance":-0.50,"note":"<i>ok</i>"}}', response_headers: 'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n',
  });
  const r = await viewer.get(`/logs/${id}`);
  assert.equal(r.status, 200);
  assert.match(r.text, new RegExp(`<h1>Execution #${id}</h1>`));
  assert.match(r.text, /id="log-status"><span class="result result-success" aria-hidden="true"><\/span>Success/);
  assert.match(r.text, /id="log-trigger">Retry</);
  assert.match(r.text, /id="log-attempt">2</);
  assert.match(r.text, /id="log-code">200</);
  assert.match(r.text, /id="log-duration">12.3 ms</);
  assert.match(r.text, /id="log-event-uid">evt-123</);
  assert.match(r.text, new RegExp(`id="log-delivery-id">${delivery}<`));
  assert.match(r.text, /CRM &lt;sync&gt;/);
  assert.ok(r.text.includes('id="request-body">{\n  &quot;event&quot;: {\n    &quot;id&quot;: &quot;evt-123&quot;,'), 'indented, escaped');
  assert.ok(r.text.includes('&quot;balance&quot;: -0.50,'), 'numbers exactly as sent');
  assert.ok(r.text.includes('&quot;name&quot;: &quot;&lt;b&gt;Bob&lt;/b&gt;&quot;'));
  assert.ok(r.text.includes('id="response-body">{\n  &quot;data&quot;: {'));
  assert.ok(r.text.includes('id="request-headers">Content-Type: application/json\nX-Prov-Delivery: d\n<'));
  assert.ok(r.text.includes('id="response-headers">HTTP/1.1 200 OK\n'));
  assert.doesNotMatch(r.text, /<b>Bob|<i>ok/);
  // Both executions of the delivery are listed, linked.
  assert.match(r.text, /id="attempts"/);
  assert.match(r.text, new RegExp(`href="/logs/${first}">#${first}</a>`));
});

test('details of a failure, a timeout, a script run and a cut response', async () => {
  const dt = fmtSeconds(new Date(Date.now() - 1800000));
  const fail = insertLog({ dt, status: 'fail', http_status: 500, error: 'HTTP 500 from handler',
    request_headers: 'Content-Type: application/json', response_body: '<html><body><h1>Oops</h1></body></html>', response_headers: 'HTTP/1.1 500 Internal Server Error' });
  let r = await viewer.get(`/logs/${fail}`);
  assert.match(r.text, /id="log-status"><span class="result result-fail" aria-hidden="true"><\/span>Fail/);
  assert.match(r.text, /id="log-code">500</);
  assert.match(r.text, /id="log-error">HTTP 500 from handler</);
  assert.ok(r.text.includes('id="response-body">&lt;html&gt;&lt;body&gt;&lt;h1&gt;Oops&lt;/h1&gt;'), 'a non-JSON body as stored, escaped');

  const timeout = insertLog({ dt, status: 'fail', http_status: null, duration_us: 5000321, error: 'timed out after 5000 ms',
    request_headers: 'Content-Type: application/json', response_body: null });
  r = await viewer.get(`/logs/${timeout}`);
  assert.match(r.text, /id="log-code"><span class="muted">no response<\/span>/);
  assert.match(r.text, /id="response-none">Nothing was received: timed out after 5000 ms\./);
  assert.match(r.text, /id="log-duration">5.00 s</);
  const listed = await viewer.get(`/logs?handler=${h1}&status=fail&before=${timeout + 1}`);
  const row = new RegExp(`<tr data-id="${timeout}"[\\s\\S]*?</tr>`).exec(listed.text);
  assert.ok(row, 'the timeout is listed');
  assert.doesNotMatch(row[0], /code-chip/, 'no status code chip without a code');
  assert.match(row[0], /timed out after 5000 ms/);

  const script = insertLog({ dt, status: 'fail', http_status: null, exit_code: 2, error: 'script exited with code 2',
    response_body: 'partial <output>', script_stderr: 'Traceback (most recent call last):\n  File "x.py" <module>\nValueError: bad' });
  r = await viewer.get(`/logs/${script}`);
  assert.match(r.text, /<h2>Sent to the script \(stdin\)<\/h2>/);
  assert.match(r.text, /<h2>Script output \(stdout\)<\/h2>/);
  assert.match(r.text, /<dt>Exit code<\/dt><dd id="log-code">2</);
  assert.ok(r.text.includes('id="script-stderr">Traceback (most recent call last):\n  File &quot;x.py&quot; &lt;module&gt;\nValueError: bad<'));
  assert.ok(r.text.includes('id="response-body">partial &lt;output&gt;'));

  const ok = insertLog({ dt, http_status: null, exit_code: 0, response_body: '{"data":{}}' });
  r = await viewer.get(`/logs/${ok}`);
  assert.match(r.text, /<dt>Exit code<\/dt><dd id="log-code">0</);

  const cut = insertLog({ dt, response_body: `{"items":[${'1,'.repeat(100)}`, response_truncated: 1, redelivery_of: fail, trigger_kind: 'manual' });
  r = await viewer.get(`/logs/${cut}`);
  assert.match(r.text, /id="response-truncated">Cut: only the first 65536 bytes of the response were kept/);
  assert.match(r.text, /<span class="cut-mark" title="cut here">\[… cut\]<\/span><\/pre>/);
  assert.match(r.text, new RegExp(`id="log-trigger">Manual redelivery of <a href="/logs/${fail}">#${fail}</a>`));
});

test('a viewer cannot purge; an admin purge removes only entries past retention', async () => {
  const page = await viewer.get('/logs');
  assert.doesNotMatch(page.text, /purge-now/, 'no purge button for a viewer');
  const csrf = /name="csrf_token" value="([0-9a-f]{64})"/.exec(page.text)[1];
  const old = insertLog({ dt: fmtSeconds(new Date(Date.now() - 91 * 86400000)), handler_id: h2 });
  const young = insertLog({ dt: fmtSeconds(new Date(Date.now() - 89 * 86400000)), handler_id: h2 });
  const denied = await viewer.post('/logs/purge', { csrf_token: csrf });
  assert.equal(denied.status, 403);
  assert.equal(sqlValue(`SELECT COUNT(*) FROM exec_logs WHERE id = ${old}`), '1');

  const adminPage = await admin.get('/logs');
  assert.match(adminPage.text, /id="purge-now">Purge now</);
  const r = await admin.submit('/logs', '/logs/purge', {});
  assert.equal(r.status, 303);
  assert.equal(r.location, '/logs?purged=1');
  assert.equal(sqlValue(`SELECT COUNT(*) FROM exec_logs WHERE id IN (${old}, ${young})`), '1');
  assert.equal(sqlValue(`SELECT COUNT(*) FROM exec_logs WHERE id = ${young}`), '1');
  assert.equal(sqlValue(`SELECT COUNT(*) FROM exec_logs WHERE dt < UTC_TIMESTAMP() - INTERVAL 90 DAY`), '0');
  const [[result, detail, recent]] = sql("SELECT last_result, last_detail, last_run_at > UTC_TIMESTAMP() - INTERVAL 1 MINUTE FROM services WHERE name = 'log_purge'");
  assert.equal(result, 'ok');
  assert.match(detail, /^removed [1-9]\d* rows older than 90 days$/);
  assert.equal(recent, '1');
  const after = await admin.get('/logs?purged=1');
  assert.match(after.text, /id="purge-done">Purge finished at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC: removed \d+ rows older than 90 days\./);
});

test('prov-admin logs purge deletes in batches and records the run', async () => {
  const ids = [];
  for (let i = 0; i < 7; i++) {
    ids.push(insertLog({ dt: fmtSeconds(new Date(Date.now() - (200 + i) * 86400000)), handler_id: h2 }));
  }
  const keep = insertLog({ dt: fmtSeconds(new Date(Date.now() - 198 * 86400000)), handler_id: h2 });
  // Other test files may have left old rows too: the purge must remove exactly those past the cutoff.
  const older = Number(sqlValue('SELECT COUNT(*) FROM exec_logs WHERE dt < UTC_TIMESTAMP() - INTERVAL 199 DAY'));
  assert.ok(older >= 7);
  const r = runBin('prov-admin', ['logs', 'purge', '--days', '199', '--batch', '3']);
  assert.equal(r.status, 0, r.stderr);
  const batches = Math.floor(older / 3) + 1; // the last, short batch says "done"
  assert.match(r.stdout, new RegExp(`^removed ${older} rows older than 199 days \\(before \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC\\) in ${batches} batches\nremoved \\d+ finished retry queue rows, \\d+ run script redeliveries and \\d+ finished bulk redeliveries older than 30 days, \\d+ snapshot generations beyond the newest 20, \\d+ metrics roll-up rows older than 35 days, \\d+ script tests older than 24 h\ntook \\d+\\.\\d\\d s for the log and \\d+\\.\\d\\d s for the retention\n$`));
  assert.equal(sqlValue(`SELECT COUNT(*) FROM exec_logs WHERE id IN (${ids.join(',')})`), '0');
  assert.equal(sqlValue(`SELECT COUNT(*) FROM exec_logs WHERE id = ${keep}`), '1');
  assert.equal(sqlValue("SELECT last_detail FROM services WHERE name = 'log_purge'"), `removed ${older} rows older than 199 days`);
  // Nothing left to remove is a run too.
  const again = runBin('prov-admin', ['logs', 'purge', '--days', '199']);
  assert.match(again.stdout, /^removed 0 rows older than 199 days .* in 1 batches/);
  for (const args of [['logs'], ['logs', 'prune'], ['logs', 'purge', '--days'], ['logs', 'purge', '--days', '0'],
    ['logs', 'purge', '--days', 'ten'], ['logs', 'purge', '--batch', '-1'], ['logs', 'purge', '--force']]) {
    const bad = runBin('prov-admin', args);
    assert.equal(bad.status, 64, args.join(' '));
    assert.equal(bad.stderr.trim().split('\n').length, 1);
  }
  assert.match(runBin('prov-admin', ['--help']).stdout, /logs purge \[--days N\] \[--batch M\]/);
});

test('three prov-loggen at once (the benches fill in parallel) all finish and each row is counted once in the roll-ups', async () => {
  const before = Number(sqlValue('SELECT COALESCE(SUM(executions), 0) FROM exec_totals'));
  const count = Number(sqlValue('SELECT COUNT(*) FROM exec_logs'));
  const gens = await Promise.all([11, 12, 13].map((seed) => run(path.join(binDir, 'prov-loggen'),
    ['--rows', '30000', '--days', '2', '--handlers', '4', '--seed', String(seed)])));
  for (const g of gens) assert.equal(g.status, 0, g.stderr);
  assert.equal(Number(sqlValue('SELECT COUNT(*) FROM exec_logs')) - count, 90000);
  assert.equal(Number(sqlValue('SELECT COALESCE(SUM(executions), 0) FROM exec_totals')) - before, 90000, 'each row counted once');
});

test('prov-loggen adds realistic rows across handlers, events, statuses and dates', () => {
  const before0 = Number(sqlValue('SELECT COALESCE(MAX(id), 0) FROM exec_logs'));
  const r = runBin('prov-loggen', ['--rows', '3000', '--days', '3', '--handlers', '15', '--seed', '42']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^inserted 3000 rows over 3 days across 15 handlers in [\d.]+ s/);
  const [[count, handlers, events, fails, oldest, newest, scripts, retries]] = sql(`SELECT COUNT(*), COUNT(DISTINCT handler_id), COUNT(DISTINCT events_id),
    SUM(status = 'fail'), MIN(dt) >= UTC_TIMESTAMP() - INTERVAL 3 DAY - INTERVAL 1 MINUTE, MAX(dt) <= UTC_TIMESTAMP(6),
    SUM(exit_code IS NOT NULL), SUM(trigger_kind = 'retry') FROM exec_logs WHERE id > ${before0}`);
  assert.equal(count, '3000');
  assert.equal(handlers, '15');
  assert.equal(events, '15', 'every event of the catalog');
  assert.ok(Number(fails) > 50 && Number(fails) < 600, `fails: ${fails}`);
  assert.equal(oldest, '1');
  assert.equal(newest, '1');
  assert.ok(Number(scripts) > 0 && Number(retries) > 0);
  const bodies = sql(`SELECT JSON_VALID(request_body), events_id = JSON_VALUE(request_body, '$.event.events_id') FROM exec_logs WHERE id > ${before0} LIMIT 200`);
  assert.ok(bodies.every(([valid, same]) => valid === '1' && same === '1'), 'envelopes are JSON naming their event');
  for (const args of [[], ['--rows', '0'], ['--rows', 'many'], ['--rows', '5', '--days', '0'], ['--rows', '5', '--handlers', '1001'], ['--rows', '5', '--what']]) {
    const bad = runBin('prov-loggen', args);
    assert.equal(bad.status, 64, args.join(' '));
  }
  assert.equal(runBin('prov-loggen', ['--help']).status, 0);
});
