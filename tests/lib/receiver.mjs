// A local HTTP receiver for the dispatcher's tests: a real server on a free
// loopback port that records every request (method, path, headers, body) and
// answers according to the path:
//   /echo               200, the request body back (the seed's echo handler)
//   /modify?set=JSON    200, {"data": received data merged with the JSON object}
//   /forbid?reason=T    200, {"allow": false, "reason": T}
//   /status/CODE        CODE, a short text body
//   /text               200, "OK" as text/plain (not JSON: unchanged, allowed)
//   /retry-after        503 with Retry-After: 120
//   /slow?ms=N          the echo after N ms
//   /hang               never answers (the client's timeout must end it)
//   /close              reads the request, then drops the connection
//   /big?mb=N           200 with N MiB (default 10) of JSON-ish bytes
//   /garbage            bytes that are not HTTP, then the connection closes
//   /flip               503 for the 1st, 3rd, 5th... request of that exact URL, the echo
//                       for the others (a handler that fails every other time)
// Any mode with ?times=N applies to the first N requests of that exact URL;
// later ones get the echo (a receiver that fails, then recovers).
// Each record carries the status answered (null: none). waitFor(pred) resolves
// with the first request matching pred, already received or still to come.
// Started and stopped by the tests themselves: startReceiver({ port }) / close().
import http from 'node:http';

export async function startReceiver({ port: wanted = 0 } = {}) {
  const requests = [];
  const sockets = new Set();
  const seen = new Map(); // URL -> requests so far (for ?times=N)
  const waiters = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const url = new URL(req.url, 'http://receiver');
      const record = {
        method: req.method, path: url.pathname, query: Object.fromEntries(url.searchParams),
        headers: req.headers, body, socket: `${req.socket.remotePort}`, at: Date.now(), status: null,
      };
      requests.push(record);
      const writeHead = res.writeHead.bind(res);
      res.writeHead = (code, ...rest) => { record.status = code; return writeHead(code, ...rest); };
      const count = (seen.get(req.url) || 0) + 1;
      seen.set(req.url, count);
      const times = url.searchParams.get('times');
      if (times !== null && count > Number(times)) json(res, 200, body);
      else if (url.pathname === '/flip') {
        if (count % 2 === 1) { res.writeHead(503, { 'content-type': 'text/plain' }); res.end('flip'); } else json(res, 200, body);
      } else answer(url, body, req, res);
      for (const w of [...waiters]) {
        if (w.pred(record)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(record); }
      }
    });
  });
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(wanted, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    requests,
    reset() { requests.length = 0; seen.clear(); },
    waitFor(pred, timeoutMs = 20000) {
      const found = requests.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const w = { pred, resolve };
        waiters.push(w);
        setTimeout(() => {
          if (waiters.includes(w)) { waiters.splice(waiters.indexOf(w), 1); reject(new Error('waitFor: no such request')); }
        }, timeoutMs).unref();
      });
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function json(res, status, value) {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function answer(url, body, req, res) {
  const path = url.pathname;
  let envelope = null;
  try { envelope = JSON.parse(body); } catch { /* not JSON: echo still works */ }
  if (path === '/echo') return json(res, 200, body);
  if (path === '/modify') {
    const set = JSON.parse(url.searchParams.get('set') || '{}');
    return json(res, 200, { data: { ...(envelope?.data || {}), ...set } });
  }
  if (path === '/forbid') return json(res, 200, { allow: false, reason: url.searchParams.get('reason') || '' });
  if (path.startsWith('/status/')) {
    const code = Number(path.slice(8));
    res.writeHead(code, { 'content-type': 'text/plain' });
    return res.end(`status ${code}`);
  }
  if (path === '/text') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    return res.end('OK');
  }
  if (path === '/retry-after') {
    res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '120' });
    return res.end('busy');
  }
  if (path === '/slow') {
    setTimeout(() => json(res, 200, body), Number(url.searchParams.get('ms') || 100));
    return undefined;
  }
  if (path === '/hang') return undefined;
  if (path === '/close') return req.socket.destroy();
  if (path === '/garbage') {
    req.socket.end('\x00\x01 this is not HTTP at all \xff\r\n\r\n');
    return undefined;
  }
  if (path === '/big') {
    const mib = Number(url.searchParams.get('mb') || 10);
    const chunk = Buffer.alloc(1024 * 1024, 'x');
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': chunk.length * mib });
    let sent = 0;
    const more = () => {
      while (sent < mib) {
        sent += 1;
        if (!res.write(chunk)) { res.once('drain', more); return; }
      }
      res.end();
    };
    res.on('error', () => {});
    return more();
  }
  return json(res, 404, { error: 'no such mode' });
}
