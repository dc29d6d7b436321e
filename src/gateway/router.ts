// Matching a request to a binding. Bindings of one HTTP method are tried most specific first
// (literal segments beat variables, a trailing `**` comes last). A path that only other methods
// serve is a 405 with their list; one nobody serves is a 404.
import { CoordError } from '../core/errors.ts';
import type { Binding } from './bindings.ts';
import { matchPathTemplate, specificity } from './path-template.ts';

export type RouteMatch =
  | { kind: 'found'; binding: Binding; params: Map<string, string> }
  | { kind: 'method-not-allowed'; allow: string[] }
  | { kind: 'not-found' };

export class Router {
  private readonly byMethod = new Map<string, Binding[]>();
  readonly bindings: readonly Binding[];

  constructor(bindings: readonly Binding[]) {
    const sorted = [...bindings].map((b, i) => ({ b, i })).sort((x, y) => specificity(y.b.template) - specificity(x.b.template) || x.i - y.i);
    const seen = new Map<string, Binding>();
    for (const { b } of sorted) {
      const key = `${b.httpMethod} ${b.template.segments.map((s) => (s.kind === 'literal' ? s.value : s.kind)).join('/')}:${b.template.verb ?? ''}`;
      const other = seen.get(key);
      if (other) {
        throw new CoordError('invalid-argument', `gateway: ${b.label} (${b.method.service}.${b.method.name}) and ${other.label} (${other.method.service}.${other.method.name}) match the same requests`);
      }
      seen.set(key, b);
      let list = this.byMethod.get(b.httpMethod);
      if (!list) this.byMethod.set(b.httpMethod, (list = []));
      list.push(b);
    }
    this.bindings = sorted.map((x) => x.b);
  }

  /** `path` is the raw (percent-encoded) path without the query string. */
  match(httpMethod: string, path: string): RouteMatch {
    const segments = path.length > 1 ? path.slice(1).split('/') : [];
    const found = this.find(this.byMethod.get(httpMethod), segments);
    if (found) return found;
    const allow: string[] = [];
    for (const [method, list] of this.byMethod) {
      if (method !== httpMethod && this.find(list, segments)) allow.push(method);
    }
    return allow.length ? { kind: 'method-not-allowed', allow } : { kind: 'not-found' };
  }

  /** Every HTTP method some binding serves `path` with (for CORS preflights and 405s). */
  methodsFor(path: string): string[] {
    const segments = path.length > 1 ? path.slice(1).split('/') : [];
    return [...this.byMethod].filter(([, list]) => this.find(list, segments)).map(([m]) => m);
  }

  private find(list: Binding[] | undefined, segments: string[]): RouteMatch | undefined {
    if (!list) return undefined;
    for (const b of list) {
      let segs = segments;
      const verb = b.template.verb;
      if (verb !== undefined) {
        const last = segs[segs.length - 1];
        if (last === undefined || !last.endsWith(`:${verb}`)) continue;
        segs = [...segs.slice(0, -1), last.slice(0, -verb.length - 1)];
      }
      const params = matchPathTemplate(b.template, segs);
      if (params) return { kind: 'found', binding: b, params };
    }
    return undefined;
  }
}
