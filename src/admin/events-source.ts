import type { Coord } from '../coord.ts';
import { isCoordError } from '../core/errors.ts';
import type { EventEngine } from '../events/event.ts';

/** Options for the admin server's events engine; defaults in each field's doc. */
export interface AdminEventsOptions {
  /** An engine to show instead of the announced one (not closed by the admin server). Default: the one announced at `<ns>events/engine`. */
  engine?: EventEngine;
  /** NATS servers to open instead of reading the announcement. Default none. */
  nats?: string | string[];
}

/**
 * The events engine the dashboard shows: the one announced at `<ns>events/engine`, opened on first
 * use and again when the announcement changes; while etcd is unreachable, the one already open.
 */
export class EventsSource {
  private current: { key: string; engine: EventEngine } | undefined;
  private opening: Promise<EventEngine> | undefined;
  private closed = false;

  constructor(
    private readonly coord: Coord,
    private readonly options: AdminEventsOptions,
    private readonly log: (line: string) => void,
  ) {}

  /**
   * The engine, or not-found (nothing announced), or unavailable (neither etcd nor an open engine).
   * `etcdDown`: the announcement is not read (it would only time out); the open engine is used.
   */
  engine(etcdDown = false): Promise<EventEngine> {
    if (this.options.engine) return Promise.resolve(this.options.engine);
    if (etcdDown && this.current) return Promise.resolve(this.current.engine);
    // One look-up at a time: concurrent requests share it.
    this.opening ??= this.resolve().finally(() => (this.opening = undefined));
    return this.opening;
  }

  private async resolve(): Promise<EventEngine> {
    const { readAnnouncement, openAnnouncedEngine } = await import('../events/announce.ts');
    let key: string;
    try {
      key = this.options.nats === undefined ? JSON.stringify((await readAnnouncement(this.coord)) ?? null) : `nats:${[this.options.nats].flat().join(',')}`;
    } catch (e) {
      if (this.current && isCoordError(e, 'unavailable')) return this.current.engine;
      throw e;
    }
    if (this.current?.key === key) return this.current.engine;
    const engine = await openAnnouncedEngine(this.coord, { nats: this.options.nats, log: this.log });
    const old = this.current;
    this.current = { key, engine };
    if (old) {
      this.log(`admin: the events engine announcement changed; now showing ${engine.name}`);
      await old.engine.close().catch((e: unknown) => this.log(`admin: closing the previous events engine failed (${(e as Error).message})`));
    }
    if (this.closed) await this.close();
    return engine;
  }

  async close(): Promise<void> {
    this.closed = true;
    const c = this.current;
    this.current = undefined;
    await c?.engine.close();
  }
}
