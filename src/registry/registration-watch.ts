import { Backoff } from '../core/backoff.ts';
import { tracedEvent } from '../core/tracing.ts';
import { retryUntilClosed } from '../core/retry-until-closed.ts';
import type { EtcdClient, KeyValue } from '../client/etcd-client.ts';
import type { Watcher } from '../client/watch-manager.ts';

/** A watch that lived this long was healthy: the next failure starts the backoff from the bottom. */
const HEALTHY_MS = 30_000;

/**
 * ONE watch per client and namespace over `<ns>services/`, on behalf of every registration of the
 * client (there used to be one watch per instance): puts to a registered key are handed to its
 * owner, which adopts changes made from outside (a drain from the dashboard). When the watch ends
 * (its resume point was compacted away, or etcd refused it) the prefix is read again, the owners'
 * keys handed over as they are now, and the watch goes on from the read's revision — never from
 * the old point again, and with backoff, a log line and a `coord.registry.watch_error` event.
 */
export class RegistrationWatch {
  private readonly owners = new Map<string, RegistrationOwner>();
  private watcher: Watcher | undefined;
  /** The watch is running or being re-created after a re-read. */
  private active = false;
  private readonly prefix: string;
  private readonly backoff = new Backoff({ initialMs: 200, maxMs: 10_000 });
  private closer = new AbortController();
  /** Watches created so far (tests and the bench read it). */
  created = 0;

  constructor(
    private readonly client: EtcdClient,
    ns: string,
    private readonly log: (line: string) => void,
  ) {
    this.prefix = `${ns}services/`;
  }

  /** Hands puts to `key` to `owner` until remove(). Call follow() once the key is written. */
  add(key: string, owner: RegistrationOwner): void {
    this.owners.set(key, owner);
  }

  /** Stops handing puts to `key` (if `owner` still holds it); the last one out stops the watch. */
  remove(key: string, owner: RegistrationOwner): void {
    if (this.owners.get(key) !== owner) return;
    this.owners.delete(key);
    if (this.owners.size === 0) this.stop();
  }

  /** A registered key was written at `revision`: make sure the watch covers what follows. */
  follow(revision: number): void {
    if (this.active || this.owners.size === 0) return;
    this.active = true;
    if (this.closer.signal.aborted) this.closer = new AbortController();
    this.start(revision + 1);
  }

  private start(from: number): void {
    const w = this.client.watches.watch(this.prefix, { prefix: true, startRevision: from });
    this.created++;
    this.watcher = w;
    const startedAt = performance.now();
    w.onEvents((batch) => {
      for (const e of batch.events) if (e.type === 'put') this.owners.get(e.kv.key)?.outsidePut(e.kv);
    });
    w.onError((err) => {
      if (this.watcher !== w) return;
      this.watcher = undefined;
      if (performance.now() - startedAt > HEALTHY_MS) this.backoff.reset();
      this.log(`registry: the watch on this client's registrations ended (${err.message}); reading them again`);
      tracedEvent('coord.registry.watch_error', { 'coord.registry.prefix': this.prefix }, undefined, err.message);
      void this.reread();
    });
  }

  private async reread(): Promise<void> {
    const signal = this.closer.signal;
    await retryUntilClosed(
      async () => {
        // Wait first: a watch that ends again right after a good read must not spin.
        await new Promise((r) => setTimeout(r, this.backoff.next()).unref());
        if (signal.aborted) return;
        const r = await this.client.range(this.prefix, { prefix: true, signal });
        if (signal.aborted || this.owners.size === 0) return;
        for (const kv of r.kvs) this.owners.get(kv.key)?.outsidePut(kv);
        this.start(r.revision + 1);
      },
      {
        signal,
        backoff: this.backoff,
        onFailure: (f) => {
          this.log(`registry: reading this client's registrations failed (${f.error.message}); attempt ${f.failures}, retrying in ${f.retryInMs} ms`);
          tracedEvent('coord.registry.watch_error', { 'coord.registry.prefix': this.prefix }, undefined, f.error.message);
        },
      },
    ).catch(() => {
      // Only stop() (no registration left) or a closed client ends the loop: nothing to follow.
    });
  }

  private stop(): void {
    this.active = false;
    this.closer.abort();
    const w = this.watcher;
    this.watcher = undefined;
    w?.close();
  }
}

/** Who a registered key's puts go to (a Registration: a method, not a closure per instance). */
export interface RegistrationOwner {
  outsidePut(kv: KeyValue): void;
}

const watches = new WeakMap<EtcdClient, Map<string, RegistrationWatch>>();

/** The registration watch of `client` in namespace `ns` (one per client and namespace). */
export function registrationWatch(client: EtcdClient, ns: string, log: (line: string) => void): RegistrationWatch {
  let byNs = watches.get(client);
  if (!byNs) watches.set(client, (byNs = new Map()));
  let w = byNs.get(ns);
  if (!w) byNs.set(ns, (w = new RegistrationWatch(client, ns, log)));
  return w;
}
