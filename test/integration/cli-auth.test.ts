// `coord` commands and `coord dashboard` with etcd credentials (`--user name:password`, as
// etcdctl): they work with the right ones, and say in one line what is wrong otherwise (a wrong
// password, no credentials while auth is on, a user without its password). Real etcd and coord
// store, each with auth on and a user limited to coord's namespace.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { backends, type RunningBackend } from '../helpers/backends.ts';
import { killAllCli, runCli, startCli } from '../helpers/cli-process.ts';
import { setUpAuth } from '../helpers/auth-setup.ts';

for (const b of backends()) {
  describe(`CLI and dashboard with etcd credentials (${b.name})`, { skip: b.skip }, () => {
    let server: RunningBackend;
    const conn = () => ['--endpoints', server.endpoint];
    before(async () => {
      server = await b.start();
      await setUpAuth(server.endpoint, { user: 'app', password: 'apppw', prefix: '/coord/' });
    });
    after(async () => {
      await killAllCli();
      await server?.stop();
    });

    it('kv put/get and config publish/get work with --user name:password', async () => {
      const put = await runCli(['kv', 'put', '/coord/raw', 'v1', ...conn(), '--user', 'app:apppw']);
      assert.equal(put.code, 0, put.stderr);
      const get = await runCli(['kv', 'get', '/coord/raw', ...conn(), '--user', 'app:apppw']);
      assert.equal(get.code, 0, get.stderr);
      assert.match(get.stdout, /v1/);
      const pub = await runCli(['config', 'publish', 'app/limit', '5', ...conn(), '--user', 'app:apppw']);
      assert.equal(pub.code, 0, pub.stderr);
      const cfg = await runCli(['config', 'get', 'app/limit', ...conn(), '--user', 'app:apppw']);
      assert.equal(cfg.code, 0, cfg.stderr);
      assert.match(cfg.stdout, /5/);
    });

    it('a wrong password, no credentials, or a user without a password: one line each', async () => {
      const wrong = await runCli(['kv', 'get', '/coord/raw', ...conn(), '--user', 'app:nope']);
      assert.deepEqual(
        { code: wrong.code, stderr: wrong.stderr },
        { code: 1, stderr: "coord: etcd authentication as 'app' failed: etcdserver: authentication failed, invalid user ID or password\n" },
      );
      const none = await runCli(['kv', 'get', '/coord/raw', ...conn()]);
      assert.deepEqual(
        { code: none.code, stderr: none.stderr },
        { code: 2, stderr: 'coord: etcd Range: etcdserver: user name is empty (etcd has auth on: pass --user name:password)\n' },
      );
      const nopw = await runCli(['kv', 'get', '/coord/raw', ...conn(), '--user', 'app']);
      assert.deepEqual(
        { code: nopw.code, stderr: nopw.stderr },
        { code: 2, stderr: 'coord: --user app: give the password as --user app:PASSWORD or in COORD_PASSWORD\n' },
      );
      const denied = await runCli(['kv', 'get', '/other', ...conn(), '--user', 'app:apppw']);
      assert.deepEqual({ code: denied.code, stderr: denied.stderr }, { code: 1, stderr: 'coord: etcd Range: etcdserver: permission denied\n' });
    });

    it('coord dashboard refuses to start with wrong credentials, and serves the API with right ones', async () => {
      const bad = await runCli(['dashboard', ...conn(), '--user', 'app:nope']);
      assert.deepEqual(
        { code: bad.code, stderr: bad.stderr },
        { code: 1, stderr: "coord: etcd authentication as 'app' failed: etcdserver: authentication failed, invalid user ID or password\n" },
      );
      const dash = startCli(['dashboard', ...conn(), '--user', 'app:apppw']);
      const listening = /coord dashboard on (http:\/\/\S+?)\/? /;
      const url = listening.exec(await dash.printed((s) => listening.test(s)))![1];
      const res = await fetch(`${url}/api/config`);
      assert.equal(res.status, 200, await res.clone().text());
      const body = JSON.stringify(await res.json());
      assert.match(body, /limit/, 'the config published above, read with the credentials');
      await dash.interrupt('SIGINT');
    });
  });
}
