// Assembling the gRPC request from an HTTP request, as google.api.http specifies: the body fills
// the whole message (`body: "*"`) or one field, path variables fill their fields, and query
// parameters fill any other field (`?page_size=10&filter.author=x&tags=a&tags=b`), except under
// `body: "*"`, where there is nothing left for them.
import { fieldChain, type Binding } from './bindings.ts';
import type { JsonCodec, FieldInfo } from './json-codec.ts';
import { TranscodeError } from './json-scalars.ts';
import { WELL_KNOWN } from './json-well-known.ts';

type Msg = Record<string, unknown>;

export function buildRequest(codec: JsonCodec, b: Binding, params: Map<string, string>, query: string, body: unknown): Msg {
  const type = b.method.requestType;
  let msg: Msg;
  if (b.body === '*') msg = body === undefined ? {} : codec.fromJson(type, body);
  else {
    msg = {};
    if (b.bodyField && body !== undefined && body !== null) msg[b.bodyField.name] = codec.fieldFromJson(b.bodyField, body, b.bodyField.jsonName);
  }
  for (const { key, chain } of b.pathFields) {
    const text = params.get(key)!;
    const leaf = chain[chain.length - 1];
    setPath(msg, chain, codec.valueFromJson(leaf, text, jsonPath(chain), true));
  }
  if (query) addQuery(codec, b, msg, query);
  return msg;
}

function addQuery(codec: JsonCodec, b: Binding, msg: Msg, query: string): void {
  const type = b.method.requestType;
  for (const [key, value] of new URLSearchParams(query)) {
    if (b.body === '*') throw new TranscodeError(key, `query parameters are not accepted by ${b.label}: the body carries the whole request`);
    const chain = fieldChain(type, key.split('.'), (why) => new TranscodeError(key, `unknown query parameter: ${why}`));
    const names = chain.map((f) => f.name);
    for (let i = 1; i <= names.length; i++) {
      const prefix = names.slice(0, i).join('.');
      if (b.boundPaths.has(prefix)) throw new TranscodeError(key, `set by the ${b.bodyField?.name === prefix ? 'body' : 'path'}, not the query`);
    }
    const leaf = chain[chain.length - 1];
    if (leaf.map) throw new TranscodeError(key, 'map fields cannot be set from the query');
    if (leaf.message && !WELL_KNOWN.has(leaf.message.fullName)) throw new TranscodeError(key, `a message cannot be set from the query; set its fields (${key}.<field>=…)`);
    const v = codec.valueFromJson(leaf, value, jsonPath(chain), true);
    if (leaf.repeated) {
      const list = (getPath(msg, chain) as unknown[] | undefined) ?? [];
      list.push(v);
      setPath(msg, chain, list);
    } else {
      if (getPath(msg, chain) !== undefined) throw new TranscodeError(key, 'given more than once');
      setPath(msg, chain, v);
    }
  }
}

function jsonPath(chain: FieldInfo[]): string {
  return chain.map((f) => f.jsonName).join('.');
}

function getPath(msg: Msg, chain: FieldInfo[]): unknown {
  let cur: Msg | undefined = msg;
  for (const f of chain) {
    if (cur === undefined) return undefined;
    cur = cur[f.name] as Msg | undefined;
  }
  return cur;
}

function setPath(msg: Msg, chain: FieldInfo[], value: unknown): void {
  let cur = msg;
  for (const f of chain.slice(0, -1)) {
    let next = cur[f.name] as Msg | undefined;
    if (next === undefined || next === null) cur[f.name] = next = {};
    cur = next;
  }
  cur[chain[chain.length - 1].name] = value;
}
