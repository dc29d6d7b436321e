import { CoordError } from '../core/errors.ts';
import type { EtcdClient } from '../client/etcd-client.ts';
import type { WatchState } from './api-types.ts';
import { EventFeed } from './event-feed.ts';
import { KeyspaceMirror } from './keyspace-mirror.ts';
import { QueueTracker } from './queue-tracker.ts';

/**
 * What the dashboard knows from watching the namespace: the mirrored keys, who holds which queue
 * since when, leadership history and the event feed, all updated by the same batches.
 */
export class LiveView {
  readonly mirror: KeyspaceMirror;
  readonly tracker: QueueTracker;
  readonly feed = new EventFeed();

  constructor(
    private readonly client: EtcdClient,
    ns: string,
    log: (line: string) => void,
  ) {
    this.mirror = new KeyspaceMirror(client, ns, log);
    this.tracker = new QueueTracker(this.mirror);
    void this.mirror.ready.then(() => this.tracker.start());
    this.mirror.onBatch((batch) => this.feed.add(batch, this.tracker.apply(batch)));
  }

  state(): WatchState {
    return { connected: this.mirror.connected, revision: this.mirror.revision, since: this.mirror.since, lostAt: this.mirror.lostAt };
  }

  /** True while etcd is unreachable after the views were current once: they show the last known state. */
  get stale(): boolean {
    return !this.mirror.connected && this.mirror.lostAt !== null;
  }

  /**
   * Waits until the views reflect etcd: at once while the watch is connected, and at once while
   * etcd is unreachable after they were current once (they then show the last known state, and
   * state().lostAt says since when). Before the first read, etcd must answer (else the
   * 'unavailable' error, a 503) and the first read must complete.
   */
  async fresh(): Promise<void> {
    if (this.mirror.connected || this.stale) return;
    await this.client.status();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((r) => (timer = setTimeout(r, this.client.requestTimeoutMs)));
    await Promise.race([this.mirror.ready, timeout]);
    clearTimeout(timer);
    if (this.mirror.revision === 0) throw new CoordError('unavailable', 'etcd answers, but the namespace watch is not established yet; try again');
  }

  close(): void {
    this.mirror.close();
  }
}
