// /docs: a self-contained page (no CDN, no build) that renders /openapi.json as a browsable list
// of operations with their parameters and request/response schemas.

export function docsPage(title: string): string {
  const esc = title.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc} — API</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d232a;background:#f6f7f9}
header{background:#1d232a;color:#fff;padding:14px 24px}header h1{font-size:18px;margin:0}header a{color:#9cf}
main{max-width:1000px;margin:0 auto;padding:16px 24px}
h2{font-size:16px;margin:24px 0 8px;border-bottom:1px solid #ccd}
details.op{background:#fff;border:1px solid #dde;border-radius:6px;margin:6px 0}
details.op>summary{cursor:pointer;padding:8px 10px;display:flex;gap:10px;align-items:center}
.m{font:600 12px monospace;padding:2px 6px;border-radius:4px;color:#fff;min-width:52px;text-align:center}
.GET{background:#2b7de9}.POST{background:#1f9d55}.PUT{background:#c77c02}.PATCH{background:#8a5cd1}.DELETE{background:#d64545}.other{background:#666}
.path{font-family:monospace}.sum{color:#555}.lock{margin-left:auto;color:#888;font-size:12px}
.body{padding:0 14px 12px}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #eee;text-align:left;padding:4px 6px;vertical-align:top}
pre{background:#f3f4f6;padding:8px;border-radius:4px;overflow:auto;font-size:12px}
</style></head>
<body><header><h1>${esc}</h1><div><a href="openapi.json">openapi.json</a></div></header><main id="root">Loading…</main>
<script>
(async () => {
  const root = document.getElementById('root');
  let doc;
  try { doc = await (await fetch('openapi.json')).json(); } catch (e) { root.textContent = 'Cannot load openapi.json: ' + e; return; }
  const schemas = (doc.components && doc.components.schemas) || {};
  const el = (tag, attrs, ...kids) => { const n = document.createElement(tag); Object.assign(n, attrs || {}); for (const k of kids) n.append(k); return n; };
  const typeName = (s) => {
    if (!s) return 'any';
    if (s.$ref) return s.$ref.split('/').pop();
    if (s.allOf) return typeName(s.allOf[0]);
    if (s.type === 'array') return typeName(s.items) + '[]';
    if (s.type === 'object' && s.additionalProperties && typeof s.additionalProperties === 'object') return 'map<string, ' + typeName(s.additionalProperties) + '>';
    if (s.enum) return s.enum.join(' | ');
    return (s.type || 'any') + (s.format ? ' (' + s.format + ')' : '');
  };
  // A JSON-like outline of a schema, following $refs up to a depth (recursive messages stop there).
  const outline = (s, depth, seen) => {
    if (!s) return 'any';
    if (s.allOf) return outline(s.allOf[0], depth, seen);
    if (s.$ref) {
      const name = s.$ref.split('/').pop();
      if (seen.includes(name) || depth > 4) return name;
      return outline(schemas[name], depth, seen.concat(name));
    }
    const pad = '  '.repeat(depth + 1);
    if (s.type === 'array') return '[' + outline(s.items, depth, seen) + ']';
    if (s.properties) {
      const lines = Object.entries(s.properties).map(([k, v]) => pad + JSON.stringify(k) + ': ' + outline(v, depth + 1, seen));
      return lines.length ? '{\\n' + lines.join(',\\n') + '\\n' + '  '.repeat(depth) + '}' : '{}';
    }
    return typeName(s);
  };
  const byTag = new Map();
  for (const [path, ops] of Object.entries(doc.paths || {})) {
    for (const [method, op] of Object.entries(ops)) {
      const tag = (op.tags && op.tags[0]) || 'default';
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push({ path, method: method.toUpperCase(), op });
    }
  }
  root.textContent = '';
  for (const [tag, ops] of byTag) {
    root.append(el('h2', { textContent: tag }));
    for (const { path, method, op } of ops) {
      const m = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].includes(method) ? method : 'other';
      const secure = op.security && op.security.length ? '🔒 ' + (op.security[0].bearer.join(' ') || 'token') : '';
      const summary = el('summary', {}, el('span', { className: 'm ' + m, textContent: method }), el('span', { className: 'path', textContent: path }),
        el('span', { className: 'sum', textContent: op.summary || op['x-grpc-method'] || '' }), el('span', { className: 'lock', textContent: secure }));
      const body = el('div', { className: 'body' });
      body.append(el('p', { textContent: 'gRPC: ' + (op['x-grpc-method'] || '') }));
      if (op.description) body.append(el('p', { textContent: op.description }));
      if (op.parameters && op.parameters.length) {
        const t = el('table', {}, el('tr', {}, el('th', { textContent: 'parameter' }), el('th', { textContent: 'in' }), el('th', { textContent: 'type' }), el('th', { textContent: 'notes' })));
        for (const p of op.parameters) t.append(el('tr', {}, el('td', { textContent: p.name }), el('td', { textContent: p.in }), el('td', { textContent: typeName(p.schema) }), el('td', { textContent: p.description || '' })));
        body.append(t);
      }
      if (op.requestBody) body.append(el('h4', { textContent: 'Request body' }), el('pre', { textContent: outline(op.requestBody.content['application/json'].schema, 0, []) }));
      const ok = op.responses['200'].content;
      const first = Object.entries(ok)[0];
      body.append(el('h4', { textContent: 'Response (' + first[0] + ')' }), el('pre', { textContent: outline(first[1].schema, 0, []) }));
      root.append(el('details', { className: 'op' }, summary, body));
    }
  }
  if (!byTag.size) root.textContent = 'No routes.';
})();
</script></body></html>`;
}
