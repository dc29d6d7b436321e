/**
 * A deliberately small YAML subset, enough for configuration files: block maps and lists
 * (a list may sit at its key's indentation), plain, 'single' and "double" quoted scalars (JSON
 * escapes), one-line flow lists of scalars `[a, "b", 3]`, `[]` and `{}`, `|` / `>` block scalars
 * (with `-` / `+`), comments and one leading `---`. Plain scalars resolve as in YAML 1.2's core
 * schema. Everything else — anchors, aliases, tags, flow maps, nested flow, `?` keys, directives,
 * several documents, multi-line plain or quoted scalars — is rejected with its line number, never
 * guessed at. Nothing is evaluated, and `__proto__` is an ordinary key.
 */

type Line = { indent: number; text: string; no: number };

export function parseYaml(source: string): unknown {
  const p = new Parser(source.replace(/^\uFEFF/, '').split(/\r?\n/));
  let first = p.peek();
  if (first?.text === '---') (p.i = first.no), (first = p.peek());
  if (!first) return null;
  if (first.indent !== 0) fail(first, 'the document must start at column 1');
  const value = p.block(0);
  const rest = p.peek();
  if (rest) fail(rest, rest.text === '---' ? 'several documents are not supported' : 'unexpected content (bad indentation?)');
  return value;
}

const fail = (line: Line | undefined, why: string): never => {
  throw new Error(line ? `line ${line.no}: ${why}` : why);
};
const isItem = (text: string) => text === '-' || text.startsWith('- ');
const define = (o: object, k: string, value: unknown) => Object.defineProperty(o, k, { value, enumerable: true, writable: true, configurable: true });
const QUOTED = /^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*')/;

class Parser {
  i = 0;
  constructor(private readonly lines: string[]) {}

  /** The next line with content (comment stripped), without consuming it. */
  peek(): Line | undefined {
    for (let j = this.i; j < this.lines.length; j++) {
      const raw = this.lines[j];
      const text = stripComment(raw).trimEnd();
      const indent = raw.length - raw.trimStart().length;
      if (text.trim() === '') continue;
      if (raw.slice(0, indent).includes('\t')) fail({ indent, text, no: j + 1 }, 'tabs are not allowed in indentation');
      return { indent, text: text.slice(indent), no: j + 1 };
    }
    return undefined;
  }

  block(indent: number): unknown {
    const line = this.peek()!;
    if (isItem(line.text)) return this.list(indent);
    if (splitKey(line.text)) return this.map(indent);
    this.i = line.no;
    return this.inline(line.text, line, indent);
  }

  private list(indent: number): unknown[] {
    const out: unknown[] = [];
    for (let line = this.peek(); line && line.indent === indent && isItem(line.text); line = this.peek()) {
      const rest = line.text.slice(1).trimStart();
      if (isItem(rest) || splitKey(rest)) {
        // `- key: v` or `- - v`: the item is a block starting at the column of `rest`.
        const col = indent + line.text.length - rest.length;
        this.lines[line.no - 1] = ' '.repeat(col) + rest;
        out.push(this.block(col));
      } else if (rest === '') out.push(this.nested(line, indent, false));
      else (this.i = line.no), out.push(this.inline(rest, line, indent));
    }
    return out;
  }

  private map(indent: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (let line = this.peek(); line && line.indent === indent && !isItem(line.text); line = this.peek()) {
      const kv = splitKey(line.text) ?? fail(line, line.text === '---' ? 'several documents are not supported' : 'expected `key: value`');
      if (Object.hasOwn(out, kv.key)) fail(line, `duplicate key ${JSON.stringify(kv.key)}`);
      this.i = line.no;
      define(out, kv.key, kv.rest === '' ? this.nested(line, indent, true) : this.inline(kv.rest, line, indent));
    }
    const line = this.peek();
    if (line && line.indent > indent) fail(line, 'unexpected indentation');
    return out;
  }

  /** The block under a bare `key:` or `-`; a list may sit at the key's own indentation. */
  private nested(line: Line, indent: number, underKey: boolean): unknown {
    this.i = line.no;
    const next = this.peek();
    if (next && next.indent > indent) return this.block(next.indent);
    return underKey && next?.indent === indent && isItem(next.text) ? this.list(indent) : null;
  }

  /** A value on the rest of an already consumed line at indentation `parent`. */
  private inline(text: string, line: Line, parent: number): unknown {
    if (/^[|>]/.test(text)) return this.blockScalar(text, line, parent);
    let value: unknown;
    try {
      value = inlineValue(text);
    } catch (e) {
      fail(line, (e as Error).message);
    }
    const next = this.peek();
    if (next && next.indent > parent) fail(next, 'unexpected indentation (multi-line scalars are not supported)');
    return value;
  }

  private blockScalar(header: string, line: Line, parent: number): string {
    const m = /^([|>])([-+]?)$/.exec(header) ?? fail(line, `unsupported block scalar header ${JSON.stringify(header)}`);
    const body: string[] = [];
    for (let width = -1; this.i < this.lines.length; this.i++) {
      const raw = this.lines[this.i];
      const indent = raw.length - raw.trimStart().length;
      if (raw.trim() !== '' && width < 0) width = indent;
      if (raw.trim() !== '' && (indent < width || indent <= parent)) break;
      body.push(raw.trim() === '' ? '' : raw.slice(width));
    }
    let trailing = 0;
    for (; body.length > 0 && body[body.length - 1] === ''; trailing++) body.pop();
    if (body.length === 0) return '';
    const folded = body.map((l, k) => (k === 0 ? l : l === '' ? '\n' : body[k - 1] === '' ? l : ` ${l}`)).join('');
    return (m[1] === '|' ? body.join('\n') : folded) + (m[2] === '-' ? '' : '\n'.repeat(m[2] === '+' ? trailing + 1 : 1));
  }
}

/** `key: rest` with a plain or quoted key, or undefined when the text is not a map entry. */
function splitKey(text: string): { key: string; rest: string } | undefined {
  const m = /^[^"'[{][^]*?:(?:\s+|$)/.exec(text) ?? new RegExp(`${QUOTED.source}\\s*:(?:\\s+|$)`).exec(text);
  if (!m) return undefined;
  const key = m[0].replace(/\s*:\s*$/, '').trim();
  try {
    return { key: /^["']/.test(key) ? unquote(key) : key, rest: text.slice(m[0].length).trim() };
  } catch {
    return undefined; // a malformed quoted key is reported with its line when parsed as a value
  }
}

/** Removes a ` # comment` that is outside quotes. */
function stripComment(line: string): string {
  let quote = '';
  for (let k = 0; k < line.length; k++) {
    const c = line[k];
    if (quote) {
      if (c === '\\' && quote === '"') k++;
      else if (c === quote) quote = '';
    } else if ((c === '"' || c === "'") && (k === 0 || /[\s:[,-]/.test(line[k - 1]))) quote = c;
    else if (c === '#' && (k === 0 || /\s/.test(line[k - 1]))) return line.slice(0, k);
  }
  return line;
}

function inlineValue(text: string): unknown {
  if (/^[&*!%?@`]/.test(text)) fail(undefined, `unsupported YAML at ${JSON.stringify(text[0])} (anchors, aliases, tags, directives, complex keys)`);
  if (/^["']/.test(text)) return QUOTED.exec(text)?.[0] === text ? unquote(text) : fail(undefined, 'a quoted scalar must end on its own line with nothing after it');
  if (text === '{}') return {};
  if (!text.startsWith('[')) return text.startsWith('{') ? fail(undefined, 'flow maps are not supported; use a block map') : scalar(text);
  if (!text.endsWith(']')) fail(undefined, 'a flow list must end its line with `]`');
  const out: unknown[] = [];
  const item = /\s*(?:("(?:[^"\\]|\\.)*"|'(?:[^']|'')*')|([^,[\]{}"']*?))\s*(?:,|$)/y;
  const body = text.slice(1, -1).trim();
  for (item.lastIndex = 0; item.lastIndex < body.length; ) {
    const at = item.lastIndex;
    const m = item.exec(body) ?? fail(undefined, `unsupported flow list item at ${JSON.stringify(body.slice(at))} (nested flow is not supported)`);
    out.push(m[1] !== undefined ? unquote(m[1]) : scalar(m[2]));
  }
  return out;
}

function unquote(q: string): string {
  return q[0] === "'" ? q.slice(1, -1).replaceAll("''", "'") : (JSON.parse(q.replaceAll('\t', '\\t')) as string);
}

/** YAML 1.2 core schema resolution of a plain scalar. */
function scalar(t: string): unknown {
  if (/^[&*!]/.test(t)) fail(undefined, 'anchors, aliases and tags are not supported');
  if (/^(~|null|Null|NULL)?$/.test(t)) return null;
  if (/^(true|True|TRUE|false|False|FALSE)$/.test(t)) return t.toLowerCase() === 'true';
  if (/^[-+]?[0-9]+$/.test(t) || /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/.test(t)) return Number(t);
  if (/^0x[0-9a-fA-F]+$|^0o[0-7]+$/.test(t)) return parseInt(t.slice(2), t[1] === 'x' ? 16 : 8);
  if (/^[-+]?\.(inf|Inf|INF)$|^\.(nan|NaN|NAN)$/.test(t)) return /n$/i.test(t) ? NaN : t.startsWith('-') ? -Infinity : Infinity;
  return t;
}

/** Block-style YAML for a JSON-compatible value; `parseYaml(stringifyYaml(v))` deep-equals `v`. */
export function stringifyYaml(value: unknown): string {
  return `${emit(JSON.parse(JSON.stringify(value) ?? 'null'), 0)}\n`;
}

function emit(v: unknown, indent: number): string {
  const pad = ' '.repeat(indent);
  if (Array.isArray(v) && v.length > 0) {
    return v.map((x) => `${pad}- ${isBlock(x) ? emit(x, indent + 2).slice(indent + 2) : emitScalar(x)}`).join('\n');
  }
  if (isBlock(v)) {
    return Object.entries(v as object)
      .map(([k, x]) => `${pad}${emitScalar(k)}:${isBlock(x) ? `\n${emit(x, indent + 2)}` : ` ${emitScalar(x)}`}`)
      .join('\n');
  }
  return pad + emitScalar(v);
}

const isBlock = (x: unknown) => typeof x === 'object' && x !== null && Object.keys(x).length > 0;

function emitScalar(x: unknown): string {
  if (typeof x === 'object') return x === null ? 'null' : Array.isArray(x) ? '[]' : '{}';
  if (typeof x !== 'string') return String(x);
  const plain = x !== '' && x === x.trim() && !/^[-?:,[\]{}#&*!|>'"%@`]|: |:$| #|[\u0000-\u001f\u007f-\u009f]/.test(x) && scalar(x) === x;
  return plain ? x : JSON.stringify(x);
}
