/**
 * The admin API's JSON shapes, shared with the dashboard (which imports this file for types only).
 * Revisions are etcd revisions; times are ISO 8601 strings from the admin server's clock.
 */

/**
 * When the admin server saw something happen. etcd keeps no creation time for a key, so this is
 * the time the dashboard observed the change on its watch (`exact: true`), or — for something that
 * was already so when the dashboard started watching — that start time (`exact: false`: "at least
 * since `at`").
 */
export interface ObservedTime {
  at: string;
  exact: boolean;
}

/** The body of every admin API error response. */
export interface ApiError {
  /** A stable code: `invalid-argument`, `not-found`, `conflict`, `unavailable`, `unauthorized`, `read-only`, … */
  error: string;
  message: string;
}

/** `/api/info`: how this admin server is set up. */
export interface AdminInfo {
  namespace: string;
  endpoints: string[];
  readOnly: boolean;
  authRequired: boolean;
  startedAt: string;
  /** False until a metrics source is configured: health, RPS, error rate and p99 are then `null`. */
  metricsAvailable: boolean;
}

/** One etcd cluster member, as the Overview shows it. */
export interface MemberView {
  id: string;
  name: string;
  clientUrls: string[];
  peerUrls: string[];
  isLeader: boolean;
  isLearner: boolean;
  /** The member's own status, asked at its first client URL; absent with `error` when it did not answer. */
  status?: { version: string; dbSize: number; revision: number; raftTerm: number };
  error?: string;
}

/** The etcd (or coord store) cluster the admin server talks to. */
export interface ClusterView {
  /** `coord store` (the embedded single-node store) or `etcd`. */
  kind: 'coord store' | 'etcd';
  version: string;
  /** Member id of the leader, as reported by the member that answered. */
  leader: string;
  memberId: string;
  raftTerm: number;
  revision: number;
  dbSize: number;
  members: MemberView[];
  /** Set when the member list could not be read (the other fields still are). */
  membersError?: string;
  /** Set while etcd is unreachable: when these figures were read (the last time etcd answered). */
  asOf?: string;
}

/** The Overview's counts of what lives in the namespace. */
export interface Counts {
  services: number;
  instances: number;
  serving: number;
  draining: number;
  /** Every lease granted in the cluster (all namespaces); null when the list could not be read. */
  leases: number | null;
  /** Distinct leases attached to keys under this namespace. */
  leasesInNamespace: number;
  locks: number;
  lockWaiters: number;
  semaphores: number;
  elections: number;
  configKeys: number;
}

/** Which part of the keyspace a feed event belongs to. */
export type Area = 'services' | 'config' | 'locks' | 'semaphores' | 'elections' | 'other';

/** One line of the recent-events feed: a change observed on the namespace's watch. */
export interface FeedEvent {
  /** Increases by one per feed event (per admin server). */
  seq: number;
  revision: number;
  /** When the dashboard observed it. */
  at: string;
  area: Area;
  /** e.g. `registered`, `status`, `deregistered`, `published`, `acquired`, `released`, `elected`. */
  kind: string;
  key: string;
  /** The service, config `namespace/key`, lock, semaphore or election the event is about. */
  subject: string;
  summary: string;
}

/** `/api/overview`: cluster, counts, recent events and the watch state. */
export interface Overview {
  cluster: ClusterView;
  counts: Counts;
  /** Newest first; only what the dashboard observed since it started. */
  events: FeedEvent[];
  watch: WatchState;
}

/** The admin server's watch on the namespace, which every live view is built from. */
export interface WatchState {
  /** True while the namespace watch is connected; false means the views show the last known state. */
  connected: boolean;
  /** Revision the live views reflect. */
  revision: number;
  /** When the dashboard started watching (the `at` of every inexact ObservedTime). */
  since: string;
  /**
   * While not connected: when the watch was lost, i.e. the time the views were last known to be
   * current (their age is counted from it); null while connected and before the first connection.
   */
  lostAt: string | null;
}

/**
 * Live health and traffic of one instance (AdminOptions.instanceMetrics; by default a grpc.health.v1
 * check and, for instances that advertise a Prometheus endpoint, figures from its scrapes). A
 * figure that is not known is `null` and the UI shows "n/a" — never a made-up number.
 */
/** `/api/topology`: calls between services, as reported by the callers' client metrics. */
export interface TopologyView {
  /** False when the dashboard has no metrics source that can tell (the UI hides the picture). */
  available: boolean;
  edges: Array<{ from: string; to: string; requestsPerSecond: number; errorRate: number }>;
}

/** Live health and traffic of one instance; a figure that is not known is `null`. */
export interface InstanceMetrics {
  health: 'serving' | 'not-serving' | 'unknown';
  requestsPerSecond: number | null;
  /** Fraction of failed requests, 0..1. */
  errorRate: number | null;
  p99Ms: number | null;
}

/** One registered instance, as the Services page shows it. */
export interface InstanceView {
  id: string;
  service: string;
  version: string | null;
  endpoints: string[];
  zone: string | null;
  weight: number | null;
  status: 'serving' | 'draining';
  metadata: Record<string, string | number | boolean>;
  key: string;
  /** Lease ID in lowercase hex (etcd's concurrency naming); null without a lease. */
  lease: string | null;
  createRevision: number;
  modRevision: number;
  /** When this registration (this key at this create revision) was observed. */
  registeredSince: ObservedTime;
  /** Why the record could not be read as an instance; the other fields are then placeholders. */
  malformed?: string;
  metrics: InstanceMetrics | null;
  /**
   * Foreign-format records only: `<service>/<id>` of the coord instance that published this record
   * (`register(…, { formats })`: the record is under that instance's lease).
   */
  publishedBy?: string;
}

/**
 * The registry layout a service is listed from: coord's own (`<ns>services/<name>/<id>`) or a Go
 * framework's (grpc-go's etcd naming/endpoints, Kratos' etcd registry, go-zero's discov), see
 * docs/interop-go.md.
 */
export type ServiceFormat = 'coord' | 'grpc-go' | 'kratos' | 'go-zero';

/** A service and its instances (`/api/services/:name`). */
export interface ServiceView {
  /**
   * The service name; for a grpc-go or go-zero service, the target / key its records live under
   * (e.g. `svc/echo`).
   */
  name: string;
  /** Where its records were read from: `coord`, or the foreign format (listed separately, read-only). */
  format: ServiceFormat;
  /** Foreign formats: the key prefix its records were read under. */
  prefix?: string;
  serving: number;
  draining: number;
  /** Records under the service that are not valid instances (listed, flagged). */
  malformed: number;
  versions: string[];
  instances: InstanceView[];
}

/**
 * `/api/services`: every registered service — coord's own first, then the foreign-format services
 * the admin server knows where to find (AdminOptions.foreignServices, Kratos' namespace, and the
 * foreign records coord instances publish), sorted by format and name.
 */
export interface ServicesView {
  /** Revision of coord's own records (foreign records are read when asked, at a later revision). */
  revision: number;
  services: ServiceView[];
  /** Set when the foreign-format records could not be read (coord's own services are still listed). */
  foreignError?: string;
}

/** The format a config value was published in. */
export type ConfigFormatName = 'json' | 'yaml' | 'text';

/** One version of a config value. */
export interface ConfigVersionView {
  raw: string;
  format: ConfigFormatName;
  version: number;
  revision: number;
  author: string;
  message: string;
  publishedAt: string;
}

/** A config gray release: the beta version and who gets it. */
export interface BetaView extends ConfigVersionView {
  selector: { ids?: string[]; labels?: Record<string, string> };
}

/** A config key in a namespace listing, with its current version. */
export interface ConfigKeySummary {
  namespace: string;
  key: string;
  version: number | null;
  format: ConfigFormatName | null;
  author: string | null;
  publishedAt: string | null;
  revision: number;
  hasBeta: boolean;
  malformed?: string;
}

/** A config namespace and its keys (`/api/config`). */
export interface ConfigNamespaceView {
  namespace: string;
  keys: ConfigKeySummary[];
}

/** One config key: its current value and its beta, if any. */
export interface ConfigDetail {
  namespace: string;
  key: string;
  current: ConfigVersionView | null;
  beta: BetaView | null;
}

/** One line of one side of a side-by-side diff. */
export interface SideBySideCell {
  /** 1-based line number in that version. */
  line: number;
  text: string;
}

/** One row of a side-by-side diff: a line kept, changed, removed or added. */
export interface SideBySideRow {
  kind: 'same' | 'changed' | 'removed' | 'added';
  left: SideBySideCell | null;
  right: SideBySideCell | null;
}

/** The difference between two versions of a config value, unified and side by side. */
export interface DiffView {
  from: ConfigVersionView;
  to: ConfigVersionView;
  /** Unified lines prefixed `' '`, `'-'` or `'+'`. */
  lines: string[];
  rows: SideBySideRow[];
}

/** Whether a config value parses (and passes its shared schema, if any). */
export interface ValidationResult {
  ok: boolean;
  /** The parse error, when not ok. */
  message?: string;
}

/** A lock or semaphore holder or waiter, or an election candidate: one key in its queue. */
export interface QueueEntryView {
  key: string;
  /** Lease ID in lowercase hex: the last segment of the key. */
  lease: string;
  /**
   * Who it is: the registered instances (`name/id`) whose records share its lease, else the key's
   * value (a holder may store its name there), else null.
   */
  instance: string | null;
  createRevision: number;
  /** The create revision: a holder's fencing token. */
  fencingToken: number;
  /** The key's value as UTF-8 (a candidate's value; usually empty for locks). */
  value: string;
  /** Holders: since it became the holder. Waiters: since it joined the queue. */
  since: ObservedTime;
  /** The lease's granted TTL and seconds left, when it could be read. */
  leaseTtl: { granted: number; remaining: number } | null;
}

/** A lock: its holder and its waiters. */
export interface LockView {
  name: string;
  holder: QueueEntryView | null;
  /** In create-revision order: the order they will hold the lock. */
  waiters: QueueEntryView[];
}

/** A semaphore: its permits, holders and waiters. */
export interface SemaphoreView {
  name: string;
  /** Permits as written by the acquirers (the value of the first key); null when unreadable. */
  permits: number | null;
  holders: QueueEntryView[];
  waiters: QueueEntryView[];
}

/** One leader of an election, from when it was elected to when its term ended. */
export interface LeadershipTerm {
  value: string;
  key: string;
  lease: string;
  fencingToken: number;
  from: ObservedTime;
  /** When the dashboard saw the term end; null for the current leader. */
  to: string | null;
}

/** An election: its leader, the other candidates and the terms observed. */
export interface ElectionView {
  name: string;
  leader: QueueEntryView | null;
  candidates: QueueEntryView[];
  /** Observed since the dashboard started, newest first. */
  history: LeadershipTerm[];
}

/** `/api/coordination`: every lock, semaphore and election in the namespace. */
export interface CoordinationView {
  revision: number;
  locks: LockView[];
  semaphores: SemaphoreView[];
  elections: ElectionView[];
}

/** A key in the KV browser, without its value. */
export interface KvMeta {
  key: string;
  createRevision: number;
  modRevision: number;
  version: number;
  /** Lease ID in lowercase hex; null without a lease. */
  lease: string | null;
  size: number;
}

/** `/api/kv`: one page of keys under a prefix. */
export interface KvListing {
  prefix: string;
  revision: number;
  keys: KvMeta[];
  /** More keys follow; ask again with `after` = the last key. */
  more: boolean;
}

/** `/api/kv/value`: a key's value, decoded as far as it can be. */
export interface KvValueView extends KvMeta {
  /** How the value reads best: JSON, other UTF-8 text, or binary (hex only). */
  encoding: 'json' | 'utf8' | 'binary';
  text: string | null;
  json: unknown;
  hex: string;
  /** True when `hex` was cut to its first 64 KiB. */
  hexTruncated: boolean;
}

/** One change on a KV browser watch. */
export interface KvChange {
  type: 'put' | 'delete';
  key: string;
  revision: number;
  size: number;
}

/** `GET /api/event-engine`: the events engine the services announced, its topics, and the outbox relays' reports. */
export interface EventsOverview {
  /** The engine shown (`servers` for NATS); null when none is announced or it could not be opened. */
  engine: { name: string; servers?: string[] } | null;
  /** Why the engine or its topics are not current: nothing announced, or the engine unreachable. */
  engineError?: string;
  /** Per topic the events kept and per consumer group (sorted) the pending events (its lag) and dead letters. */
  topics: EventTopicView[];
  /** Set when `topics` are the last known figures (the engine or etcd is unreachable): when they were read. */
  topicsAsOf?: string;
  /** One report per outbox relay instance, as the relays publish them under `<ns>events/outbox/`. */
  outboxes: OutboxReportView[];
  outboxesError?: string;
  /** Set when `outboxes` are the last known reports (etcd is unreachable): when they were read. */
  outboxesAsOf?: string;
}

export interface EventTopicView {
  topic: string;
  events: number;
  groups: Array<{ group: string; pending: number; deadLetters: number }>;
}

export type OutboxReportView =
  | { outbox: string; instance: string; leader: boolean; backlog: number; oldestAgeSeconds: number; sent: number; errors: number; updated: string }
  | { outbox: string; instance: string; malformed: string };

/** An event as the engine holds it. */
export interface EventView {
  id: string;
  topic: string;
  type: string;
  key: string;
  data: unknown;
  time: string;
}

/** `GET /api/event-engine/topics/:topic/tail`: the newest events, newest last. */
export interface EventTailView {
  topic: string;
  events: EventView[];
}

/** `GET /api/event-engine/dead-letters`: what consumer groups gave up on. */
export interface DeadLettersView {
  deadLetters: Array<{ group: string; event: EventView; attempts: number; error: string; time: string }>;
}
