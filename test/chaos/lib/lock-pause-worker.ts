// One lock-pause worker process: loops { lock → write begin → a few writes with small sleeps →
// write end → release } against the fenced resource, forever, reporting on stdout as JSON lines:
// {"ev":"begin","token":N} once its begin was accepted, {"ev":"end","token":N,"cut":bool} when the
// section is over (cut: a write was refused, or — careful mode — isHeld() said the lock was lost).
// Naive mode never looks at the lock's signal: a process paused past its TTL wakes up believing it
// still holds the lock, which is exactly the hazard fencing tokens exist for.
import { connect } from '../../../src/index.ts';
import type { WriteKind } from './fenced-resource.ts';

export interface WorkerConfig {
  endpoint: string;
  namespace: string;
  lock: string;
  /** Base URL of the fenced resource, e.g. http://127.0.0.1:1234. */
  resource: string;
  group: string;
  client: string;
  ttl: number;
  /** Writes between begin and end. */
  writes: number;
  /** Sleep before each of them, ms. */
  stepMs: number;
  /** Check isHeld() before each write (fencing must make the resource safe without it). */
  careful: boolean;
}

const config = JSON.parse(process.argv[2] ?? '') as WorkerConfig;
const coord = connect({ endpoints: config.endpoint, namespace: config.namespace });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const report = (event: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(event)}\n`);
let seq = 0;

async function write(kind: WriteKind, token: number): Promise<boolean> {
  const body = JSON.stringify({ group: config.group, client: config.client, token, seq: seq++, kind });
  const res = await fetch(`${config.resource}/write`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  const answer = (await res.json()) as { accepted?: boolean; error?: string };
  if (!res.ok) throw new Error(`resource refused ${kind} write: ${answer.error}`);
  return answer.accepted === true;
}

async function section(token: number, held: () => boolean): Promise<boolean> {
  if (!(await write('begin', token))) return false;
  report({ ev: 'begin', token });
  for (let i = 0; i < config.writes; i++) {
    await sleep(config.stepMs);
    if (config.careful && !held()) return false;
    if (!(await write('data', token))) return false;
  }
  if (config.careful && !held()) return false;
  return write('end', token);
}

for (;;) {
  let lock;
  try {
    lock = await coord.lock(config.lock, { ttl: config.ttl });
  } catch (e) {
    report({ ev: 'lock-error', message: (e as Error).message });
    await sleep(100);
    continue;
  }
  const token = lock.fencingToken;
  const completed = await section(token, () => lock.isHeld());
  report({ ev: 'end', token, cut: !completed });
  await lock.release();
}
