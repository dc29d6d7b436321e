// `coord dashboard` as a real process against a real coord store: it prints its URL, serves the
// API and the UI, honours --token and --read-only, refuses an unprotected non-loopback bind with
// one line and exit 2, and stops cleanly on SIGINT.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, describe, it, type TestContext } from 'node:test';
import { startStore } from '../../src/store/index.ts';
import { completeLines } from '../helpers/output-lines.ts';
import { patience } from '../helpers/patience.ts';
import { http } from './admin-fixture.ts';

// The command is registered the way src/cli/main.ts registers every command.
const ENTRY = `
import { Command } from 'commander';
import { registerDashboardCommand } from ${JSON.stringify(new URL('../../src/cli/dashboard-command.ts', import.meta.url).pathname)};
const program = new Command('coord').exitOverride((e) => process.exit(e.exitCode === 0 ? 0 : 2));
registerDashboardCommand(program);
await program.parseAsync(process.argv.slice(1), { from: 'user' });
`;

const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('COORD_')));

interface Run {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exited: Promise<number | null>;
  /** The first match of `re` in the complete lines printed so far; waits for it (with a deadline). */
  printed(re: RegExp): Promise<RegExpExecArray>;
}

function dashboard(t: TestContext, args: string[]): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', ENTRY, 'dashboard', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  return {
    child,
    out: () => out,
    err: () => err,
    exited,
    async printed(re) {
      const deadline = Date.now() + patience(120_000); // the first start may build the dashboard
      for (;;) {
        const m = re.exec(completeLines(out));
        if (m) return m;
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`coord dashboard did not print ${re}:\n--- stdout\n${out}--- stderr\n${err}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}

describe('coord dashboard', { concurrency: true }, () => {
  let store: Awaited<ReturnType<typeof startStore>> | undefined;
  before(async () => {
    store = await startStore({ listen: '127.0.0.1:0' });
  });
  after(() => store?.close());

  it('prints its URL, serves the API and the UI, and stops on SIGINT', async (t) => {
    const run = dashboard(t, ['--endpoints', store!.endpoint, '--namespace', '/cli-dash/']);
    const [, url] = await run.printed(/^coord dashboard on (http:\/\/127\.0\.0\.1:\d+\/) \(etcd [^,]+, namespace \/cli-dash\/\)$/m);
    const info = await http(url, 'GET', '/api/info');
    assert.deepEqual([info.status, info.body.namespace, info.body.readOnly], [200, '/cli-dash/', false]);
    const page = await http(url, 'GET', '/services');
    assert.equal(page.status, 200);
    assert.match(page.text, /<div id="app"><\/div>/);
    run.child.kill('SIGINT');
    assert.equal(await run.exited, 0);
    assert.match(run.err(), /SIGINT, shutting down/);
    await assert.rejects(http(url, 'GET', '/api/info'), /ECONNREFUSED/);
  });

  it('--token and --read-only', async (t) => {
    const run = dashboard(t, ['--endpoints', store!.endpoint, '--listen', '127.0.0.2:0', '--token', 'tt', '--read-only']);
    const [, url] = await run.printed(/^coord dashboard on (\S+) .*read-only\)$/m);
    await run.printed(/^every API call needs the token: .*#token=<token>$/m);
    assert.equal((await http(url, 'GET', '/api/info')).status, 401);
    const info = await http(url, 'GET', '/api/info', { headers: { authorization: 'Bearer tt' } });
    assert.deepEqual([info.status, info.body.readOnly, info.body.authRequired], [200, true, true]);
  });

  it('a non-loopback bind without a token is one line on stderr and exit 2', async (t) => {
    const run = dashboard(t, ['--endpoints', store!.endpoint, '--listen', '127.0.0.2:0']);
    assert.equal(await run.exited, 2);
    assert.equal(run.out(), '');
    assert.match(run.err(), /^coord: the admin API on 127\.0\.0\.2 would be reachable beyond this machine's loopback: give a token .*\n$/);
  });
});
