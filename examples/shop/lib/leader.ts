// A job that runs only on the instance elected leader of `election` (coord's election, etcd's
// concurrency layout): campaigns, runs `tick` every `everyMs` while leader, resigns when the
// service drains, campaigns again when leadership is lost. Every failure is a log line; the loop
// retries with backoff until the service drains.
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServiceContext } from './service.ts';

export async function runWhileLeader(ctx: ServiceContext, election: string, everyMs: number, tick: (signal: AbortSignal) => Promise<void>): Promise<void> {
  for (let failures = 0; !ctx.draining.aborted; ) {
    let leadership;
    try {
      leadership = await ctx.coord.campaign(election, ctx.id, { ttl: 5, signal: ctx.draining });
      failures = 0;
    } catch (e) {
      if (ctx.draining.aborted) break;
      failures++;
      ctx.log(`campaign for ${election} failed (${(e as Error).message}); retrying`);
      await sleep(Math.min(10_000, 500 * 2 ** failures), undefined, { signal: ctx.draining }).catch(() => {}); // aborted: the loop ends
      continue;
    }
    ctx.log(`elected leader of ${election}`);
    const stop = AbortSignal.any([leadership.signal, ctx.draining]);
    while (!stop.aborted) {
      await tick(stop).catch((e: Error) => ctx.log(`${election}: ${e.message}`));
      await sleep(everyMs, undefined, { signal: stop }).catch(() => {}); // aborted: the loop ends
    }
    if (ctx.draining.aborted) {
      await leadership.resign().catch((e: Error) => ctx.log(`resigning ${election} failed (${e.message}); the lease ends it`));
      ctx.log(`resigned leadership of ${election}`);
    } else {
      ctx.log(`lost leadership of ${election}`);
    }
  }
}
