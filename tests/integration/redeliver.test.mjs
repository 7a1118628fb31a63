// Redeliver (Execution Logs details, admin): the logged request runs again through
// the dispatcher's delivery code, with the same delivery id, logged as "manual".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { clientAs, sql, sqlValue } from '../lib/panel.mjs';
import { addHandler, disableAll, dispatch, editHandler, publish } from '../lib/dispatch.mjs';

// A receiver that refuses (503) until it is switched up, then echoes.
async function flakyReceiver() {
  const seen = [];
  let up = false;
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ delivery: req.headers['x-prov-delivery'], attempt: req.headers['x-prov-attempt'], body });
      if (!up) {
        res.writeHead(503, { 'content-type': 'text/plain' }).end('down for maintenance');
      } else {
        res.writeHead(200, { 'content-type': 'application/json' }).end(body);
      }
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, seen, setUp() { up = true; }, close: () => new Promise((r) => server.close(r)) };
}

async function failedExecution(t) {
  const receiver = await flakyReceiver();
  t.after(() => receiver.close());
  disableAll();
  const handlerId = addHandler({ name: 'Flaky CRM', event: 'clients.delete', task: `${receiver.url}/hook` });
  publish();
  const run = await dispatch(['clients.delete', '--object-id', '5'], { client_id: 5 });
  assert.equal(run.status, 0, run.stderr);
  const logId = Number(sqlValue(`SELECT MAX(id) FROM exec_logs WHERE handler_id = ${handlerId}`));
  assert.equal(sqlValue(`SELECT status FROM exec_logs WHERE id = ${logId}`), 'fail');
  return { receiver, handlerId, logId };
}

test('an admin redelivers a failed execution after the receiver comes back', async (t) => {
  const { receiver, handlerId, logId } = await failedExecution(t);
  receiver.setUp();
  const admin = await clientAs('admin');
  const r = await admin.submit(`/logs/${logId}`, `/logs/${logId}/redeliver`, {});
  assert.equal(r.status, 303, r.text);
  const m = /^\/logs\/(\d+)\?redelivered=ok$/.exec(r.location);
  assert.ok(m, `redirected to the new execution: ${r.location}`);
  const newId = Number(m[1]);
  assert.ok(newId > logId);
  const [orig, again] = [receiver.seen[0], receiver.seen[1]];
  assert.equal(receiver.seen.length, 2);
  assert.equal(again.delivery, orig.delivery, 'same delivery id, so the receiver can de-duplicate');
  assert.equal(again.body, orig.body, 'the logged request, byte for byte');
  assert.equal(again.attempt, '2');
  const row = sql(`SELECT status, trigger_kind, redelivery_of, attempt, delivery_id, handler_id FROM exec_logs WHERE id = ${newId}`)[0];
  assert.deepEqual(row, ['success', 'manual', String(logId), '2', orig.delivery, String(handlerId)]);
  const page = await admin.get(r.location);
  assert.match(page.text, /id="redeliver-result">Redelivered: the handler accepted it/);
  assert.match(page.text, new RegExp(`Manual redelivery of <a href="/logs/${logId}">`));
});

test('a redelivery that fails again is logged and said so', async (t) => {
  const { logId } = await failedExecution(t);
  const admin = await clientAs('admin');
  const r = await admin.submit(`/logs/${logId}`, `/logs/${logId}/redeliver`, {});
  assert.match(r.location, /redelivered=fail$/);
  const page = await admin.get(r.location);
  assert.match(page.text, /failed again/);
  assert.match(page.text, /HTTP 503|503/);
});

test('viewers cannot redeliver; unknown and unpublished handlers are refused', async (t) => {
  const { receiver, handlerId, logId } = await failedExecution(t);
  const viewer = await clientAs('viewer');
  const page = await viewer.get(`/logs/${logId}`);
  assert.ok(!page.text.includes('id="redeliver"'), 'no button for viewers');
  const token = /name="csrf_token" value="([0-9a-f]{64})"/.exec(page.text)[1];
  const refused = await viewer.post(`/logs/${logId}/redeliver`, { csrf_token: token });
  assert.equal(refused.status, 403);
  assert.equal(receiver.seen.length, 1, 'nothing was sent');
  const admin = await clientAs('admin');
  assert.equal((await admin.submit(`/logs/${logId}`, '/logs/999999999/redeliver', {})).status, 404);
  assert.equal((await admin.post(`/logs/${logId}/redeliver`, { csrf_token: 'f'.repeat(64) })).status, 403);
  editHandler(handlerId, "status = 'disabled'");
  publish();
  const gone = await admin.submit(`/logs/${logId}`, `/logs/${logId}/redeliver`, {});
  assert.equal(gone.status, 409);
  assert.match(gone.text, /not in the published set/);
  assert.equal(receiver.seen.length, 1);
});
