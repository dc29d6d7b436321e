// google.api.http path templates: parsing and matching.
//
//   Template = "/" Segments [ Verb ] ;
//   Segments = Segment { "/" Segment } ;
//   Segment  = "*" | "**" | LITERAL | Variable ;
//   Variable = "{" FieldPath [ "=" Segments ] "}" ;
//   FieldPath = IDENT { "." IDENT } ;
//   Verb     = ":" LITERAL ;
//
// `{field}` is `{field=*}`. `**` matches zero or more segments and may only come last. A variable
// over one segment is percent-decoded fully; over several (`{name=shelves/*/books/*}`, `{path=**}`)
// `%2F` stays encoded, as the spec asks, so the value splits back into the same segments.
import { CoordError } from '../core/errors.ts';

export type Segment = { kind: 'literal'; value: string } | { kind: 'wildcard' } | { kind: 'deep' };

export interface Variable {
  /** Field path, e.g. `['book', 'name']`. */
  path: string[];
  /** Index of the first segment it covers. */
  start: number;
  /** Index after the last segment it covers (for a trailing `**`, the end of the path). */
  end: number;
}

export interface PathTemplate {
  /** As written. */
  source: string;
  segments: Segment[];
  variables: Variable[];
  verb: string | undefined;
  /** True when the last segment is `**`. */
  deep: boolean;
}

export function parsePathTemplate(source: string): PathTemplate {
  const bad = (why: string) => new CoordError('invalid-argument', `invalid path template ${JSON.stringify(source)}: ${why}`);
  if (!source.startsWith('/')) throw bad("it must start with '/'");
  let body = source.slice(1);
  // The verb is a ':' after the last '/' that is not inside a variable.
  let verb: string | undefined;
  const lastSlash = body.lastIndexOf('/');
  const lastBrace = body.lastIndexOf('}');
  const colon = body.lastIndexOf(':');
  if (colon > lastSlash && colon > lastBrace) {
    verb = body.slice(colon + 1);
    body = body.slice(0, colon);
    if (!verb) throw bad('empty verb after ":"');
  }
  const segments: Segment[] = [];
  const variables: Variable[] = [];
  let i = 0;
  const readSegments = (stopAtBrace: boolean) => {
    for (;;) {
      if (body[i] === '{') {
        if (stopAtBrace) throw bad('variables cannot nest');
        const close = body.indexOf('}', i);
        if (close < 0) throw bad("unclosed '{'");
        const inner = body.slice(i + 1, close);
        const eq = inner.indexOf('=');
        const fieldPath = (eq < 0 ? inner : inner.slice(0, eq)).trim();
        if (!/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/.test(fieldPath)) throw bad(`bad field path ${JSON.stringify(fieldPath)}`);
        const start = segments.length;
        if (eq < 0) segments.push({ kind: 'wildcard' });
        else {
          const sub = inner.slice(eq + 1);
          if (!sub) throw bad(`empty pattern for {${fieldPath}}`);
          for (const s of sub.split('/')) segments.push(segment(s, true));
        }
        variables.push({ path: fieldPath.split('.'), start, end: segments.length });
        i = close + 1;
      } else {
        let j = body.indexOf('/', i);
        if (j < 0) j = body.length;
        const text = body.slice(i, j);
        if (text.includes('{') || text.includes('}')) throw bad(`a variable must fill a whole segment: ${JSON.stringify(text)}`);
        segments.push(segment(text, false));
        i = j;
      }
      if (i >= body.length) return;
      if (body[i] !== '/') throw bad(`unexpected ${JSON.stringify(body[i])} at ${i + 1}`);
      i++;
    }
  };
  const segment = (s: string, inVariable: boolean): Segment => {
    if (s === '*') return { kind: 'wildcard' };
    if (s === '**') return { kind: 'deep' };
    if (!s) throw bad('empty segment');
    if (inVariable && s.includes('{')) throw bad('variables cannot nest');
    return { kind: 'literal', value: s };
  };
  if (body.length > 0) readSegments(false);
  const deepAt = segments.findIndex((s) => s.kind === 'deep');
  if (deepAt >= 0 && deepAt !== segments.length - 1) throw bad("'**' must be the last segment");
  const seen = new Set<string>();
  for (const v of variables) {
    const key = v.path.join('.');
    if (seen.has(key)) throw bad(`field ${key} is bound twice`);
    seen.add(key);
  }
  return { source, segments, variables, verb, deep: deepAt >= 0 };
}

/** Variable values by field path (`book.name`), or undefined when `pathSegments` (raw, still percent-encoded) do not match. */
export function matchPathTemplate(t: PathTemplate, pathSegments: readonly string[]): Map<string, string> | undefined {
  const n = t.segments.length;
  if (t.deep ? pathSegments.length < n - 1 : pathSegments.length !== n) return undefined;
  for (let i = 0; i < n; i++) {
    const s = t.segments[i];
    if (s.kind === 'literal' && s.value !== pathSegments[i]) return undefined;
    // `*` matches one non-empty segment.
    if (s.kind === 'wildcard' && !pathSegments[i]) return undefined;
  }
  const values = new Map<string, string>();
  for (const v of t.variables) {
    const end = v.end === n && t.deep ? pathSegments.length : v.end;
    const parts = pathSegments.slice(v.start, end);
    const single = v.end - v.start === 1 && !(t.deep && v.end === n);
    const value = single ? decodeSegment(parts[0]) : parts.map(decodeKeepingSlash).join('/');
    if (value === undefined) return undefined;
    values.set(v.path.join('.'), value);
  }
  return values;
}

function decodeSegment(s: string): string | undefined {
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

function decodeKeepingSlash(s: string): string {
  if (!s.includes('%')) return s;
  return s.replace(/(%[0-9A-Fa-f]{2})+/g, (run) => {
    try {
      return decodeURIComponent(run).replace(/\//g, '%2F');
    } catch {
      return run;
    }
  });
}

/** Literal segments first, then fewer wildcards: the order in which bindings are tried. */
export function specificity(t: PathTemplate): number {
  let score = 0;
  for (const s of t.segments) score += s.kind === 'literal' ? 3 : s.kind === 'wildcard' ? 1 : 0;
  return score * 4 + (t.verb ? 2 : 0) + (t.deep ? 0 : 1);
}

/** The OpenAPI path for a template: `{name=shelves/*}` becomes `{name}`. */
export function openApiPath(t: PathTemplate): string {
  const parts: string[] = [];
  let i = 0;
  const byStart = new Map(t.variables.map((v) => [v.start, v]));
  while (i < t.segments.length) {
    const v = byStart.get(i);
    if (v) {
      parts.push(`{${v.path.join('.')}}`);
      i = v.end;
      continue;
    }
    const s = t.segments[i];
    parts.push(s.kind === 'literal' ? s.value : s.kind === 'wildcard' ? '*' : '**');
    i++;
  }
  return `/${parts.join('/')}${t.verb ? `:${t.verb}` : ''}`;
}

/** The pattern a variable must match, for messages and docs (`shelves/*\/books/*`). */
export function variablePattern(t: PathTemplate, v: Variable): string {
  return t.segments
    .slice(v.start, v.end)
    .map((s) => (s.kind === 'literal' ? s.value : s.kind === 'wildcard' ? '*' : '**'))
    .join('/');
}
