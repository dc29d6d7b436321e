// One holder process for bench/handoff.ts:
//   node --import ./scripts/run-source.mjs handoff-holder.ts <endpoint> <coord|etcd3> <lock|election> <name> <ttl-seconds>
// Prints `held` once it holds the lock or leadership. SIGTERM stops it gracefully: coord through
// its application lifecycle (createApp), etcd3 the way a user of that client writes it by hand
// (release / resign, then exit). Exits when its stdin closes, so it never outlives the bench.
import { Etcd3 } from 'etcd3';
import { createApp } from '../../src/app/index.ts';
import { connect } from '../../src/index.ts';

const [endpoint, client, kind, name, ttlArg] = process.argv.slice(2);
const ttl = Number(ttlArg);
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();

const untilAborted = (signal: AbortSignal) => new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));

if (client === 'coord') {
  const coord = connect({ endpoints: endpoint });
  const app = createApp({ coord, log: () => {} });
  if (kind === 'lock') {
    app.job('hold', (signal) =>
      coord
        .withLock(name, async (s) => {
          console.log('held');
          await untilAborted(s);
        }, { signal, ttl })
        .catch(() => {}), // the app stopping aborts the wait or the work: nothing to report in a bench
    );
  } else {
    app.leaderTask(name, async (signal) => {
      console.log('held');
      await untilAborted(signal);
    }, { ttl });
  }
  await app.run();
} else {
  const etcd = new Etcd3({ hosts: `http://${endpoint}` });
  let giveBack: () => Promise<void>;
  if (kind === 'lock') {
    const lock = etcd.lock(name).ttl(ttl);
    await lock.acquire();
    giveBack = () => lock.release();
  } else {
    const campaign = etcd.election(name, ttl).campaign(String(process.pid));
    await campaign.wait();
    giveBack = () => campaign.resign();
  }
  console.log('held');
  process.once('SIGTERM', () => {
    void giveBack().finally(() => {
      etcd.close();
      process.exit(0);
    });
  });
}
