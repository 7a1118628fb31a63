// The OpenAPI description (static/openapi.json) as a contract on every
// response the tests receive from the JSON API: api() in panel.mjs hands each
// one to assertContract. A response's (method, path template, status) must be
// documented, and its body must match that response's schema, checked by Ajv
// (a third-party JSON Schema validator) with the document's own schemas:
// response objects say additionalProperties: false, so an undeclared field
// fails, as does a wrong type, a null where the schema has no nullable, a
// missing required field or a body on a response documented without one.
// Beyond what OpenAPI can say per operation: a path the document does not list
// must answer 404 with the error shape, and a method a listed path does not
// have must answer 405 with the error shape and an Allow header naming exactly
// the path's documented methods.
import { AssertionError } from 'node:assert';
import { readFileSync } from 'node:fs';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

export const openapiPath = new URL('../../static/openapi.json', import.meta.url);

export function loadDocument() {
  return JSON.parse(readFileSync(openapiPath, 'utf8'));
}

// A checker for doc: check(method, urlPath, status, headers, text) returns the
// list of problems (strings), empty when the response keeps the contract.
// urlPath is relative to the document's server (/api/v1), query included.
export function createContract(doc) {
  if (!/^3\.0\./.test(doc.openapi)) throw new Error(`api_contract: OpenAPI ${doc.openapi}: only 3.0 is handled`);
  // OpenAPI 3.0's Schema Object is a JSON Schema subset plus nullable, which
  // Ajv supports as it stands; example is an OpenAPI annotation. Strict mode
  // refuses any other keyword the document might grow without Ajv knowing it.
  const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: true });
  addFormats(ajv);
  ajv.addKeyword({ keyword: 'example' });
  ajv.addKeyword({ keyword: 'components' }); // the holder of the document's schemas below
  ajv.addSchema({ $id: 'openapi.json', components: { schemas: doc.components.schemas } });
  const validators = new Map();
  const validatorFor = (schema) => {
    const key = JSON.stringify(schema);
    if (!validators.has(key)) {
      validators.set(key, ajv.compile(rebase(schema)));
    }
    return validators.get(key);
  };
  const resolve = (node) => {
    while (node && node.$ref) {
      node = node.$ref.replace(/^#\//, '').split('/').reduce((n, k) => n?.[k.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
    }
    return node;
  };

  const templates = Object.entries(doc.paths).map(([template, item]) => {
    const names = [];
    const source = template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{([^}]+)\\?\}/g, (_, name) => {
      names.push(name);
      return '([^/]+)';
    });
    return { template, item, names, re: new RegExp(`^${source}$`) };
  });

  // The path item whose template matches and whose path parameters' values fit
  // their schemas ("/handlers/abc" is no /handlers/{id}: the server says 404).
  function match(pathname) {
    for (const t of templates) {
      const m = t.re.exec(pathname);
      if (!m) continue;
      const fits = t.names.every((name, i) => {
        const raw = decodeURIComponent(m[i + 1]);
        const param = Object.entries(t.item).filter(([k]) => METHODS.includes(k))
          .flatMap(([, op]) => op.parameters || []).concat(t.item.parameters || [])
          .map(resolve).find((p) => p.in === 'path' && p.name === name);
        if (!param) return true;
        const schema = resolve(param.schema) || {};
        let value = raw;
        if (schema.type === 'integer' || schema.type === 'number') {
          if (!/^-?[0-9]+(\.[0-9]+)?$/.test(raw)) return false;
          value = Number(raw);
        }
        return validatorFor(param.schema)(value);
      });
      if (fits) return t;
    }
    return undefined;
  }

  function checkBody(response, headers, text, problems) {
    const types = Object.keys(response.content || {});
    if (types.length === 0) {
      if (text !== '') problems.push(`documented without a body, answered ${JSON.stringify(text.slice(0, 200))}`);
      return;
    }
    const type = headers?.get?.('content-type') ?? '';
    const mediaType = type.split(';')[0].trim().toLowerCase();
    const documented = types.find((t) => t.toLowerCase() === mediaType);
    if (!documented) {
      problems.push(`Content-Type is ${JSON.stringify(type)}, the document has ${types.join(', ')}`);
      return;
    }
    const { schema } = response.content[documented];
    let body = text;
    if (/^application\/(.+\+)?json$/.test(mediaType)) {
      try {
        body = JSON.parse(text);
      } catch {
        problems.push(`body is not JSON: ${JSON.stringify(text.slice(0, 200))}`);
        return;
      }
    }
    if (!schema) return;
    const validate = validatorFor(schema);
    if (!validate(body)) {
      for (const e of validate.errors) {
        const where = e.instancePath || '(body)';
        if (e.keyword === 'additionalProperties') problems.push(`${where}: undeclared field "${e.params.additionalProperty}"`);
        else problems.push(`${where}: ${e.message}${e.keyword === 'enum' ? ` (${JSON.stringify(e.params.allowedValues)})` : ''}`);
      }
    }
  }

  function check(method, urlPath, status, headers, text) {
    const problems = [];
    const pathname = urlPath.split('?')[0];
    const t = match(pathname);
    const errorResponse = { content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
    if (!t) {
      if (status !== 404) problems.push(`the path is not in the document: expected 404, got ${status}`);
      checkBody(errorResponse, headers, text, problems);
      return problems;
    }
    const op = t.item[method.toLowerCase()];
    if (!op) {
      if (status !== 405) problems.push(`${method} is not documented on ${t.template}: expected 405, got ${status}`);
      const documented = Object.keys(t.item).filter((k) => METHODS.includes(k)).map((k) => k.toUpperCase()).sort();
      const allow = (headers?.get?.('allow') ?? '').split(',').map((s) => s.trim()).filter(Boolean).sort();
      if (allow.join(', ') !== documented.join(', ')) {
        problems.push(`Allow is "${allow.join(', ')}", the document lists ${documented.join(', ')}`);
      }
      checkBody(errorResponse, headers, text, problems);
      return problems;
    }
    const declared = op.responses?.[String(status)] ?? op.responses?.[`${String(status)[0]}XX`] ?? op.responses?.default;
    if (!declared) {
      problems.push(`status ${status} is not documented for ${method.toUpperCase()} ${t.template} (documented: ${Object.keys(op.responses || {}).join(', ')})`);
      return problems;
    }
    checkBody(resolve(declared), headers, text, problems);
    return problems;
  }

  return { check, match: (pathname) => match(pathname)?.template };
}

// "#/components/..." inside an inline schema points into the document, here
// added to Ajv as "openapi.json".
function rebase(schema) {
  if (Array.isArray(schema)) return schema.map(rebase);
  if (schema === null || typeof schema !== 'object') return schema;
  const out = {};
  for (const [k, v] of Object.entries(schema)) {
    out[k] = k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `openapi.json${v}` : rebase(v);
  }
  return out;
}

let shared;
// Every violation seen in this process, for a test that wants to look.
export const violations = [];

// Throw (failing the calling test) when a response breaks the contract of
// static/openapi.json; record it in violations too.
export function assertContract(method, urlPath, status, headers, text) {
  shared ??= createContract(loadDocument());
  const problems = shared.check(method, urlPath, status, headers, text);
  if (problems.length === 0) return;
  const message = `API response breaks static/openapi.json: ${method} /api/v1${urlPath} -> ${status}\n  ${problems.join('\n  ')}`;
  violations.push({ method, urlPath, status, problems });
  throw new AssertionError({ message });
}
