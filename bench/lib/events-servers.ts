// The servers and databases the events bench runs on: the three engines (NATS JetStream, the
// etcd engine on coord store, the etcd engine on a real etcd) and the three outbox stores
// (PostgreSQL, PGlite in this process, the etcd outbox on the engine's coordination server). Each
// is started once, when a row first needs it, and stopped at the end (always, even on error).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { connect, type Coord } from '../../src/coord.ts';
import { etcdEngine } from '../../src/events/engine-etcd.ts';
import { natsEngine } from '../../src/events/engine-nats.ts';
import type { EventEngine } from '../../src/events/event.ts';
import { fromPGlite, fromPg, type SqlDatabase } from '../../src/events/sql.ts';
import { startEtcd } from '../../test/helpers/etcd-process.ts';
import { startNats } from '../../test/helpers/nats-process.ts';
import { startPostgres } from '../../test/helpers/postgres-process.ts';
import { startCoordStore } from './coord-process.ts';

export type EngineName = 'jetstream' | 'etcd-engine/store' | 'etcd-engine/etcd';
export type StoreName = 'postgres' | 'pglite' | 'etcd-outbox';
export const ENGINES: EngineName[] = ['jetstream', 'etcd-engine/store', 'etcd-engine/etcd'];
export const STORES: StoreName[] = ['postgres', 'pglite', 'etcd-outbox'];

/** What a row runs on: the engine, the coordination server (relay election; etcd outbox and etcd engine data), the SQL database if any. */
export interface Bed {
  engine: EventEngine;
  /** The coordination server the relay campaigns on (and where the etcd engine / etcd outbox keep their keys). */
  coord: Coord;
  /** `nats-server` / `coord store` / `etcd`, for the table. */
  engineServer: string;
  /** The SQL database of a postgres / pglite row. */
  sql?: SqlDatabase;
  close(): Promise<void>;
}

export class Servers {
  private readonly stops: Array<() => Promise<void>> = [];
  private readonly started = new Map<string, Promise<unknown>>();

  private once<T>(name: string, start: () => Promise<T>): Promise<T> {
    let p = this.started.get(name) as Promise<T> | undefined;
    if (!p) {
      p = start();
      this.started.set(name, p);
    }
    return p;
  }

  private coordStore = () =>
    this.once('coord store', async () => {
      const s = await startCoordStore();
      this.stops.push(s.stop);
      console.log(`  coord store pid ${s.pid} on ${s.endpoint}`);
      return s.endpoint;
    });

  private etcd = () =>
    this.once('etcd', async () => {
      const s = await startEtcd();
      this.stops.push(s.stop);
      console.log(`  etcd pid ${s.pid} on ${s.endpoint}`);
      return s.endpoint;
    });

  private nats = () =>
    this.once('nats', async () => {
      const s = await startNats();
      this.stops.push(s.stop);
      console.log(`  nats-server -js pid ${s.pid} on ${s.endpoint}`);
      return s.endpoint;
    });

  private postgres = () =>
    this.once('postgres', async () => {
      const s = await startPostgres();
      const pool = new pg.Pool({ connectionString: s.url, max: 16 });
      this.stops.push(async () => (await pool.end(), await s.stop()));
      console.log(`  postgres pid ${s.pid} (fsync on, synchronous_commit on)`);
      return fromPg(pool);
    });

  private pglite = () =>
    this.once('pglite', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'coord-bench-pglite-'));
      const db = new PGlite(join(dir, 'data'));
      await db.waitReady;
      this.stops.push(async () => (await db.close(), rmSync(dir, { recursive: true, force: true })));
      console.log(`  PGlite in this process, data dir ${dir}`);
      return fromPGlite(db);
    });

  /** Opens a fresh engine (and its coordination client) for one row; the servers stay up. */
  async bed(engine: EngineName, store: StoreName): Promise<Bed> {
    const endpoint = engine === 'etcd-engine/etcd' ? await this.etcd() : await this.coordStore();
    const coord = connect({ endpoints: endpoint, namespace: '/bench/' });
    const e = engine === 'jetstream' ? await natsEngine({ servers: await this.nats() }) : etcdEngine(coord);
    const sql = store === 'postgres' ? await this.postgres() : store === 'pglite' ? await this.pglite() : undefined;
    return {
      engine: e,
      coord,
      engineServer: engine === 'jetstream' ? 'nats-server' : engine === 'etcd-engine/etcd' ? 'etcd' : 'coord store',
      sql,
      close: async () => (await e.close(), await coord.close()),
    };
  }

  async close(): Promise<void> {
    for (const stop of this.stops.reverse()) await stop().catch((e: unknown) => console.error(`bench events: stopping a server failed: ${(e as Error).message}`));
  }
}
