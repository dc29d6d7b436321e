import { sleep, Backoff } from '../core/backoff.ts';
import { CoordError, isCoordError } from '../core/errors.ts';
import { Emitter } from '../core/events.ts';
import type { CampaignOptions, Leadership } from './election.ts';

/** Options for `Coord.leaderTask()`; defaults in each field's doc. */
export interface LeaderTaskOptions extends Omit<CampaignOptions, 'signal'> {
  /** The value the leader publishes (who leads). Default `<hostname>-<pid>`. */
  value?: string;
  /** Stops the task as close() does (resigns if leading). */
  signal?: AbortSignal;
  /** A failure of a campaign or of `fn` (each is retried); also logged. Default: none. */
  onError?: (error: CoordError) => void;
}

/** `fn` of a leader task: runs while leader, and must return soon after `signal` aborts. */
export type LeaderWork = (signal: AbortSignal, leadership: Leadership) => Promise<void>;

/**
 * Work that runs on exactly one instance at a time: campaign, run `fn` while leader with a signal
 * that aborts when leadership is lost (or the task is closed), campaign again after a loss, and
 * resign on close(). If `fn` returns or throws while still leader, the task resigns and campaigns
 * again after a short backoff, so another instance may take the turn.
 */
export class LeaderTask {
  private readonly stop = new AbortController();
  private readonly elected = new Emitter<Leadership>();
  private readonly lost = new Emitter<CoordError>();
  /** Won leadership: `fn` starts now. */
  readonly onElected = this.elected.on;
  /** Leadership ended without close() (lease lost, fn finished or failed). */
  readonly onLost = this.lost.on;
  /** Settles once close() has resigned and `fn` has returned. */
  readonly done: Promise<void>;
  private current: Leadership | undefined;
  private readonly log: (line: string) => void;

  constructor(
    private readonly campaign: (value: string, options: CampaignOptions) => Promise<Leadership>,
    readonly name: string,
    private readonly fn: LeaderWork,
    private readonly options: LeaderTaskOptions & { defaultValue: string; log?: (line: string) => void },
  ) {
    this.log = options.log ?? (() => {});
    const outer = options.signal;
    if (outer?.aborted) this.stop.abort(outer.reason);
    else outer?.addEventListener('abort', () => void this.close(), { once: true });
    this.done = this.loop();
  }

  /** Whether this instance leads right now (and `fn` runs). */
  get leading(): boolean {
    return this.current?.isLeader() ?? false;
  }

  /** The leadership held now, if any (its fencing token, its signal). */
  get leadership(): Leadership | undefined {
    return this.current;
  }

  private report(what: string, e: unknown): void {
    const error = isCoordError(e) ? e : new CoordError('internal', e instanceof Error ? e.message : String(e), { cause: e });
    this.log(`leader task ${this.name}: ${what}: ${error.message}`);
    this.options.onError?.(error);
  }

  private async loop(): Promise<void> {
    const backoff = new Backoff({ initialMs: 200, maxMs: 5000 });
    const stop = this.stop.signal;
    while (!stop.aborted) {
      let l: Leadership;
      try {
        // Bounded by close(): campaign() waits out an unreachable etcd by itself.
        l = await this.campaign(this.options.value ?? this.options.defaultValue, { ttl: this.options.ttl, signal: stop });
      } catch (e) {
        if (stop.aborted) return;
        this.report('campaign failed; campaigning again', e);
        await sleep(backoff.next(), stop).catch(() => {}); // cut short by close(): the loop ends
        continue;
      }
      this.current = l;
      this.log(`leader task ${this.name}: elected (fencing token ${l.fencingToken})`);
      this.elected.emit(l);
      const running = AbortSignal.any([l.signal, stop]);
      try {
        await this.fn(running, l);
      } catch (e) {
        if (!running.aborted) this.report('work failed while leader; resigning', e);
      }
      this.current = undefined;
      if (l.signal.aborted && !stop.aborted) {
        const reason = isCoordError(l.signal.reason) ? l.signal.reason : new CoordError('not-leader', `leadership of ${this.name} lost`);
        this.log(`leader task ${this.name}: leadership lost (${reason.message}); campaigning again`);
        this.lost.emit(reason);
        await sleep(backoff.next(), stop).catch(() => {}); // cut short by close(): the loop ends
        continue;
      }
      // Closed, or fn ended on its own: hand the seat over now rather than at lease expiry.
      await l.resign().catch((e: unknown) => this.report('resign failed (the seat frees at lease expiry)', e));
      if (stop.aborted) return;
      this.lost.emit(new CoordError('not-leader', `leader task ${this.name}: work ended; resigned`));
      await sleep(backoff.next(), stop).catch(() => {}); // cut short by close(): the loop ends
    }
  }

  /** Stops campaigning; if leading, aborts `fn`'s signal, waits for it to return, and resigns. */
  async close(): Promise<void> {
    if (!this.stop.signal.aborted) this.stop.abort(new CoordError('closed', `leader task ${this.name} closed`));
    await this.done;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
