// `coord dashboard --foreign <format>=<target>`: the dashboard started from the CLI lists a
// service a Go stack publishes under a target it is told about, marked with its format; a
// malformed or unknown --foreign is one line and exit 2.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startStore, type StoreHandle } from '../../src/store/index.ts';
import { killAllCli, runCli, startCli } from '../helpers/cli-process.ts';
import { RawClient } from '../helpers/raw-client.ts';

describe('coord dashboard --foreign', () => {
  let store: StoreHandle;
  let client: RawClient;
  before(async () => {
    store = await startStore({ listen: '127.0.0.1:0' });
    client = new RawClient(store.endpoint);
  });
  after(async () => {
    await killAllCli();
    client?.close();
    await store?.close();
  });

  it('lists a grpc-go service under the named target, with its format', async () => {
    // What Go's endpoints.Manager writes for AddEndpoint("svc/cli/127.0.0.1:7301", {Addr: ...}).
    await client.put({ key: 'svc/cli/127.0.0.1:7301', value: '{"Op":0,"Addr":"127.0.0.1:7301","Metadata":null}' });
    const dash = startCli(['dashboard', '--endpoints', store.endpoint, '--foreign', 'grpc-go=svc/cli']);
    const listening = /coord dashboard on (http:\/\/\S+?)\/? /;
    const url = listening.exec(await dash.printed((s) => listening.test(s)))![1];
    const view = (await (await fetch(`${url}/api/services`)).json()) as { services: Array<{ name: string; format: string; instances: Array<{ endpoints: string[] }> }> };
    const svc = view.services.find((s) => s.name === 'svc/cli');
    assert.ok(svc, JSON.stringify(view));
    assert.equal(svc.format, 'grpc-go');
    assert.deepEqual(svc.instances.map((i) => i.endpoints), [['grpc://127.0.0.1:7301']]);
    await dash.interrupt('SIGINT');
  });

  it('a malformed or unknown --foreign is one line and exit 2', async () => {
    const bad = await runCli(['dashboard', '--endpoints', store.endpoint, '--foreign', 'svc/cli']);
    assert.deepEqual({ code: bad.code, stderr: bad.stderr }, { code: 2, stderr: "coord: --foreign wants <format>=<target>, e.g. grpc-go=svc/echo; got 'svc/cli'\n" });
    const unknown = await runCli(['dashboard', '--endpoints', store.endpoint, '--foreign', 'nope=svc/cli']);
    assert.deepEqual({ code: unknown.code, stderr: unknown.stderr }, { code: 2, stderr: 'coord: unknown registry format "nope"; known: coord, grpc-go, kratos, go-zero\n' });
  });
});
