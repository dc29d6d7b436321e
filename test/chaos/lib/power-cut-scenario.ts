// Power cuts under coord store: writers put unique keys and atomic key pairs (one Txn) over gRPC
// while the store runs on a simulated disk; at a random moment the power goes (every unsynced byte
// and directory change is lost, the last write torn at a random byte), the store restarts from what
// survived, and every acknowledged write is checked: present with its value and mod revision, pairs
// all-or-nothing, revisions contiguous and continuing. One writer also adds auth users now and
// then: every acknowledged user must be there after each restart (auth state is in the same log
// and snapshots). Small log segments and snapshot thresholds
// make segment creation and snapshot replacement happen many times per run.
import { startStore, type StoreHandle } from '../../../src/store/index.ts';
import { PowerCutFs, type PowerCutFsOptions, type PowerCutStats } from '../../helpers/power-cut-fs.ts';
import { RawClient } from '../../helpers/raw-client.ts';
import { seededRandom } from '../../helpers/seeded-random.ts';

export interface PowerCutOptions {
  cuts: number;
  seed: number;
  /** Concurrent writers. Default 6. */
  writers?: number;
  /**
   * Acknowledged writes before each cut, drawn from [min, max]. Default 100–400. The cut is placed
   * by count, not time, so a slow machine does the same work; it still lands at an arbitrary
   * moment of the I/O, with the other writers' requests in flight.
   */
  acksPerCut?: [number, number];
  /** Passed to the simulated disk (e.g. a lying disk that ignores directory fsyncs). */
  disk?: PowerCutFsOptions;
  log?: (line: string) => void;
}

export interface PowerCutResult {
  cuts: number;
  /** Writes (puts and pair txns) acknowledged to a client, over all rounds. */
  acknowledged: number;
  /** Acknowledged writes checked after the last restart (every one, after every restart). */
  checks: number;
  /** Acknowledged writes (keys, pairs, auth users) missing or changed after a restart. */
  lost: number;
  /** Pairs found with one key and not the other, or with different revisions. */
  halfApplied: number;
  /** Restarts that failed (the store refused what survived). */
  recoveryFailures: string[];
  disk: PowerCutStats;
}

interface Acked {
  value: string;
  rev: number;
}

const DATA_DIR = '/power-cut/data';

function start(fs: PowerCutFs): Promise<StoreHandle> {
  return startStore({ listen: '127.0.0.1:0', dataDir: DATA_DIR, fs, segmentBytes: 8 * 1024, snapshotBytes: 48 * 1024 });
}

export async function runPowerCut(options: PowerCutOptions): Promise<PowerCutResult> {
  const random = seededRandom(options.seed);
  const writers = options.writers ?? 6;
  const [minAcks, maxAcks] = options.acksPerCut ?? [100, 400];
  const log = options.log ?? (() => {});
  const acked = new Map<string, Acked>();
  const ackedUsers = new Set<string>();
  let nextKey = 0;
  let maxAckedRev = 0;
  const result: PowerCutResult = { cuts: 0, acknowledged: 0, checks: 0, lost: 0, halfApplied: 0, recoveryFailures: [], disk: undefined! };

  let fs = new PowerCutFs(options.disk);
  let store = await start(fs);
  for (let round = 0; round < options.cuts; round++) {
    const client = new RawClient(store.endpoint);
    let running = true;
    const target = Math.floor(minAcks + random() * (maxAcks - minAcks));
    let ackedThisRound = 0;
    let reached!: () => void;
    const enough = new Promise<void>((resolve) => (reached = resolve));
    const ack = (key: string, value: string, rev: number) => {
      acked.set(key, { value, rev });
      maxAckedRev = Math.max(maxAckedRev, rev);
      result.acknowledged++;
      if (++ackedThisRound >= target) reached();
    };
    const writer = async (w: number) => {
      let ops = 0;
      while (running) {
        const n = nextKey++;
        try {
          if (w === 0 && ops++ % 3 === 0) {
            await client.authCall('UserAdd', { name: `u${n}`, password: `pw${n}` });
            ackedUsers.add(`u${n}`);
            continue;
          }
          if (n % 4 === 0) {
            const value = `pair-${n}`;
            const res = await client.txn({
              success: [{ request_put: { key: `p/${n}/a`, value } }, { request_put: { key: `p/${n}/b`, value } }],
            });
            const rev = Number(res.header.revision);
            ack(`p/${n}/a`, value, rev);
            ack(`p/${n}/b`, value, rev);
          } else {
            const key = `w/${w}/${n}`;
            const value = `v${n}-${'x'.repeat(n % 200)}`;
            const res = await client.put({ key, value });
            ack(key, value, Number(res.header.revision));
          }
        } catch {
          // Refused or cut off by the power cut: not acknowledged, so not checked.
        }
      }
    };
    const work = Array.from({ length: writers }, (_, w) => writer(w));
    await enough;
    fs = fs.cut(random);
    running = false;
    result.cuts++;
    await Promise.all(work);
    client.close();
    await store.close().catch(() => {});

    try {
      store = await start(fs);
    } catch (e) {
      result.recoveryFailures.push(`cut ${round + 1}: ${(e as Error).message}`);
      log(`cut ${round + 1}: restart failed: ${(e as Error).message}`);
      break;
    }
    const check = await verify(store.endpoint, acked, maxAckedRev, ackedUsers);
    result.checks = check.checked;
    result.lost += check.lost;
    result.halfApplied += check.halfApplied;
    log(`cut ${round + 1}/${options.cuts}: ${acked.size} acknowledged keys and ${ackedUsers.size} users checked, lost ${check.lost}, half-applied pairs ${check.halfApplied}, revision ${check.revision}`);
    if (check.lost > 0 || check.halfApplied > 0) break;
  }
  await store.close().catch(() => {});
  result.disk = fs.stats;
  return result;
}

async function verify(endpoint: string, acked: Map<string, Acked>, maxAckedRev: number, ackedUsers: Set<string>) {
  const client = new RawClient(endpoint);
  try {
    const seen = new Map<string, Acked>();
    for (const prefix of ['w/', 'p/']) {
      const res = await client.range({ key: prefix, range_end: prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1) });
      for (const kv of res.kvs) seen.set(kv.key.toString(), { value: kv.value.toString(), rev: Number(kv.mod_revision) });
    }
    let lost = 0;
    for (const [key, want] of acked) {
      const got = seen.get(key);
      if (!got || got.value !== want.value || got.rev !== want.rev) lost++;
    }
    let halfApplied = 0;
    const pairIds = new Set([...seen.keys()].filter((k) => k.startsWith('p/')).map((k) => Number(k.split('/')[1])));
    for (const n of pairIds) {
      const a = seen.get(`p/${n}/a`);
      const b = seen.get(`p/${n}/b`);
      if (!a || !b || a.rev !== b.rev) halfApplied++;
    }
    const users = new Set((await client.authCall<{ users: string[] }>('UserList')).users);
    for (const u of ackedUsers) if (!users.has(u)) lost++;
    const revision = await client.revision();
    // Revisions continue from what survived: never below an acknowledged one.
    if (revision < maxAckedRev) lost++;
    return { checked: acked.size, lost, halfApplied, revision };
  } finally {
    client.close();
  }
}

/** Problems with a run, one line each; empty when every acknowledged write survived every cut. */
export function powerCutProblems(r: PowerCutResult): string[] {
  const problems: string[] = [];
  if (r.lost > 0) problems.push(`${r.lost} acknowledged writes lost`);
  if (r.halfApplied > 0) problems.push(`${r.halfApplied} pairs half-applied`);
  problems.push(...r.recoveryFailures);
  return problems;
}
