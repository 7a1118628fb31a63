// Static assets and sources: balanced CSS blocks (a merge once left a media
// query open and swallowed a page's rules), no merge markers anywhere, and
// every asset a template links is served.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { baseUrl } from '../lib/panel.mjs';

const root = new URL('../../', import.meta.url);
const read = (p) => readFileSync(new URL(p, root), 'utf8');

test('the stylesheet closes every block it opens, at the top level', () => {
  const css = read('static/css/panel.css').replace(/\/\*[\s\S]*?\*\//g, '');
  let depth = 0;
  css.split('\n').forEach((line, i) => {
    if (/^@media/.test(line)) assert.equal(depth, 0, `@media inside another block at line ${i + 1}`);
    for (const ch of line) depth += ch === '{' ? 1 : ch === '}' ? -1 : 0;
    assert.ok(depth >= 0 && depth <= 2, `brace depth ${depth} at line ${i + 1}`);
  });
  assert.equal(depth, 0);
});

test('no merge conflict markers in sources, templates or assets', () => {
  for (const dir of ['core', 'cgi-bin', 'cmd', 'templates', 'static/css', 'static/js', 'tests/integration', 'tests/browser', 'tests/lib']) {
    for (const f of readdirSync(new URL(`${dir}/`, root))) {
      if (!/\.(c|h|cs|css|js|mjs)$/.test(f)) continue;
      assert.doesNotMatch(read(`${dir}/${f}`), /^(<<<<<<<|>>>>>>>) /m, `${dir}/${f}`);
    }
  }
});

test('every static asset a template links is served', async () => {
  const linked = new Set();
  for (const f of readdirSync(new URL('templates/', root))) {
    for (const m of read(`templates/${f}`).matchAll(/(?:href|src)="(\/static\/[^"?]+)"/g)) linked.add(m[1]);
  }
  assert.ok(linked.size >= 3);
  for (const asset of linked) {
    const r = await fetch(baseUrl + asset);
    assert.equal(r.status, 200, asset);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff');
  }
});
