// etcd-coord/events: events between services — one small engine interface (publish, subscribe in
// groups with explicit acknowledgement, dead letters and re-drive), NATS JetStream as the real
// engine and an embedded engine over etcd / coord store. See docs/events.md.
export { checkName, type DeadLetter, type Delivery, type EventEngine, type EventHandler, type EventRecord, type SubscribeOptions, type Subscription, type TopicStats } from './event.ts';
export { etcdEngine, type EtcdEngineOptions } from './engine-etcd.ts';
export { natsEngine, type NatsEngineOptions, type NatsEventEngine } from './engine-nats.ts';
export { announceEngine, announcementKey, openAnnouncedEngine, readAnnouncement, type EngineAnnouncement, type OpenAnnouncedOptions } from './announce.ts';
export { EtcdOutbox, PostgresOutbox, type NewEvent, type OutboxEntry, type OutboxSource, type PostgresOutboxOptions } from './outbox.ts';
export { relayReportKey, startRelay, type Relay, type RelayOptions, type RelayReport, type RelayStats } from './outbox-relay.ts';
export { readRelayReports, type RelayReportRow } from './relay-reports.ts';
export { outboxMetrics, type OutboxMetrics } from './outbox-metrics.ts';
export { idempotent, migrateProcessed } from './consumer-idempotent.ts';
export { fromPg, fromPGlite, type PgPoolLike, type PGliteLike, type SqlDatabase, type SqlExecutor } from './sql.ts';
