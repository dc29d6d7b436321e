// Makes etcdctl output comparable between etcd and coord store by normalising only what each
// server legitimately chooses for itself: its endpoint, member and cluster ids, lease ids and
// the revision it happened to be at. Everything else is compared exactly as printed.
export interface ServerIds {
  /** `host:port` the server was reached on. */
  endpoint: string;
  memberId: bigint;
  clusterId: bigint;
}

const REVISION_FIELDS = new Set(['revision', 'create_revision', 'mod_revision', 'compact_revision', 'CompactRevision']);
/** etcdctl prints keys and values in JSON as base64; decoded here so expectations read as text. */
const BYTES_FIELDS = new Set(['key', 'value', 'keys']);

/**
 * One test's normaliser. In text, ids become `<member>`, `<cluster>`, `<lease1>`, `<lease2>`…
 * (numbered in the order the test names them) and the endpoint becomes `<endpoint>`. In JSON,
 * additionally every revision becomes an offset from `base`, the revision the test started at.
 */
export class Scrub {
  readonly #labels = new Map<string, string>();
  #leases = 0;
  #pattern: RegExp | undefined;

  constructor(
    readonly server: ServerIds,
    readonly base: number,
  ) {
    this.#alias(server.memberId, '<member>');
    this.#alias(server.clusterId, '<cluster>');
  }

  /** Labels a lease id (hex as etcdctl prints it, or its value) `<leaseN>`; the same id keeps its label. */
  lease(id: string | bigint): string {
    const value = typeof id === 'bigint' ? id : BigInt(`0x${id}`);
    const known = this.#labels.get(value.toString());
    if (known) return known;
    this.#leases += 1;
    const label = `<lease${this.#leases}>`;
    this.#alias(value, label);
    return label;
  }

  #alias(value: bigint, label: string): void {
    // Short forms are skipped: replacing them could hit unrelated numbers (practically never happens).
    for (const form of [value.toString(), value.toString(16), value.toString(16).padStart(16, '0')]) {
      if (form.length >= 8) this.#labels.set(form, label);
    }
    this.#pattern = undefined;
  }

  text(s: string): string {
    const forms = [...this.#labels.keys()].sort((a, b) => b.length - a.length);
    this.#pattern ??= new RegExp(`\\b(?:${forms.join('|')})\\b`, 'g');
    return s.split(this.server.endpoint).join('<endpoint>').replace(this.#pattern, (m) => this.#labels.get(m) ?? m);
  }

  /** Parses etcdctl JSON output (int64 ids kept exact) and normalises it. */
  json(s: string): unknown {
    // Go prints int64 as bare numbers; quote the long ones before JSON.parse rounds them.
    const exact = s.replace(/(?<=[:[,])(-?\d{16,})(?=[,\]}])/g, '"$1"');
    return this.#walk(JSON.parse(exact), '');
  }

  #walk(v: unknown, field: string): unknown {
    if (Array.isArray(v)) return v.map((x) => this.#walk(x, field));
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, this.#walk(x, k)]));
    }
    if (typeof v === 'number') {
      if (REVISION_FIELDS.has(field) && v !== 0) return v - this.base;
      return this.#labels.get(String(v)) ?? v;
    }
    if (typeof v === 'string') {
      return this.text(BYTES_FIELDS.has(field) ? Buffer.from(v, 'base64').toString('utf8') : v);
    }
    return v;
  }
}

/** Member and cluster id of the server at `endpoint`, from `etcdctl endpoint status -w json` output. */
export function serverIds(endpoint: string, statusJson: string): ServerIds {
  const memberId = /"member_id":(\d+)/.exec(statusJson)?.[1];
  const clusterId = /"cluster_id":(\d+)/.exec(statusJson)?.[1];
  if (!memberId || !clusterId) throw new Error(`no ids in endpoint status output: ${statusJson}`);
  return { endpoint, memberId: BigInt(memberId), clusterId: BigInt(clusterId) };
}
