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
// Started and stopped by the tests themselves: startReceiver() / close().
import http from 'node:http';

export async function startReceiver() {
  const requests = [];
  const sockets = new Set();
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const url = new URL(req.url, 'http://receiver');
      const record = {
        method: req.method, path: url.pathname, query: Object.fromEntries(url.searchParams),
        headers: req.headers, body, socket: `${req.socket.remotePort}`, at: Date.now(),
      };
      requests.push(record);
      answer(url, body, req, res);
    });
  });
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    requests,
    reset() { requests.length = 0; },
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
