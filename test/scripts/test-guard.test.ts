// The hang guard of `npm test` (scripts/test-guard.mjs) as a real process: a command that prints
// and then hangs is stopped after the idle limit, with its whole process group (a grandchild
// too), one line naming the limit, and exit 1; a command that finishes keeps its exit status.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';

const GUARD = new URL('../../scripts/test-guard.mjs', import.meta.url).href;

function guarded(script: string, env: Record<string, string>) {
  const driver = `const { runGuarded } = await import(${JSON.stringify(GUARD)});
const r = await runGuarded('probe', process.execPath, ['-e', ${JSON.stringify(script)}], {});
process.exit(r.hung ? 1 : (r.status ?? 1));`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', driver], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  return new Promise<{ code: number | null; out: string; err: string }>((resolve) => child.once('close', (code) => resolve({ code, out, err })));
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('test hang guard', () => {
  it('stops a run that prints nothing more, with its process group, after the idle limit', async (t) => {
    // The hanging command starts a grandchild that would outlive it, then waits forever.
    const hang = `const { spawn } = require('node:child_process');
const g = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
console.log('grandchild ' + g.pid);
setInterval(() => {}, 1000);`;
    const r = await guarded(hang, { COORD_TEST_IDLE_MIN: '0.02', COORD_TEST_TIMEOUT_MIN: '30' });
    assert.equal(r.code, 1, r.err);
    assert.match(r.err, /✖ probe: no output for 0\.02 min of an idle machine \(COORD_TEST_IDLE_MIN\); .* Stopping it/);
    const grandchild = Number(/^grandchild (\d+)$/m.exec(r.out)?.[1]);
    assert.ok(grandchild > 0, r.out);
    t.after(() => {
      if (alive(grandchild)) process.kill(grandchild, 'SIGKILL');
    });
    const deadline = Date.now() + 30_000;
    while (alive(grandchild) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
    assert.equal(alive(grandchild), false, `grandchild ${grandchild} survived the guard`);
  });

  it('keeps the exit status of a run that finishes, and its output', async () => {
    const r = await guarded(`console.log('done'); process.exit(3)`, { COORD_TEST_IDLE_MIN: '5' });
    assert.equal(r.code, 3);
    assert.match(r.out, /^done$/m);
    assert.doesNotMatch(r.err, /✖/);
  });

  it('refuses a limit that is not a positive number', async () => {
    const r = await guarded('0', { COORD_TEST_IDLE_MIN: 'soon' });
    assert.equal(r.code, 2);
    assert.match(r.err, /COORD_TEST_IDLE_MIN must be a positive number of minutes, got "soon"/);
  });
});
