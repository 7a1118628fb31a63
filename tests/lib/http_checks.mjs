// What the Apache and nginx fronts must both do, checked the same way:
// the security headers on every answer, and requests no client library sends.
import assert from 'node:assert/strict';
import net from 'node:net';

export const SECURITY_HEADERS = {
  'content-security-policy': /^default-src 'none'; .*frame-ancestors 'none'; base-uri 'none'$/,
  'x-frame-options': /^DENY$/,
  'x-content-type-options': /^nosniff$/,
  'referrer-policy': /^same-origin$/,
};

// Each security header exactly once (a repeated header would read "a, b").
export function assertSecurityHeaders(headers, what) {
  for (const [name, pattern] of Object.entries(SECURITY_HEADERS)) {
    assert.match(headers.get(name) ?? '(missing)', pattern, `${what}: ${name}`);
  }
}

// A raw request to base (http://host:port); resolves with the answer's status and headers.
export function rawRequest(base, text) {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.end(text));
    let data = '';
    socket.setEncoding('latin1');
    socket.on('data', (d) => { data += d; });
    socket.on('error', reject);
    socket.on('close', () => {
      const [head] = data.split('\r\n\r\n');
      const [statusLine, ...lines] = head.split('\r\n');
      const headers = new Headers();
      for (const line of lines) {
        const i = line.indexOf(':');
        if (i > 0) headers.append(line.slice(0, i).trim(), line.slice(i + 1).trim());
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers });
    });
  });
}
