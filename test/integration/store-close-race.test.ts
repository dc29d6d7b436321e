// Issue 20 item 13: a call in flight when its client closes the channel. The etcd3 client (on
// grpc-js 1.8.x) closes its channel while a DeleteRange it started is still going; coord store
// over TLS refused that stream ("Stream refused by server"), grpc-js retried it onto the closed
// channel and the call failed `14 UNAVAILABLE`. Node's http2 answers a client's GOAWAY with
// session.close() and then refuses every stream whose HEADERS arrive after it; a client closing in
// the same step that starts a call sends its GOAWAY first. coord store now serves every stream a
// client opens (src/store/grpc-sessions.ts), as grpc-go's transport (etcd's plaintext listener)
// does. Go's net/http2 (etcd's TLS listener) refuses those same-step calls too: that one case is
// printed for etcd, not asserted; every other case must succeed on both servers.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { goawayServers, type GoawayServer } from '../chaos/lib/goaway-scenario.ts';
import { makePki, type TestPki } from '../helpers/certs.ts';
import { closeRace, failed, type GrpcJs } from '../helpers/close-race.ts';

const CALLS = 20;

for (const server of goawayServers) {
  describe(`${server.name}: a call started as its client closes the channel completes`, { skip: server.skip }, () => {
    let pki: TestPki;
    let tls: GoawayServer;
    let plain: GoawayServer;
    before(async () => {
      pki = makePki();
      tls = await server.start(pki, true);
      plain = await server.start(pki, false);
    });
    after(async () => {
      await tls?.stop();
      await plain?.stop();
    });

    for (const grpcJs of ['1.8', '1.14'] as GrpcJs[]) {
      for (const transport of ['TLS', 'plaintext'] as const) {
        for (const sameTick of [true, false]) {
          const when = sameTick ? 'in the step that starts the call' : 'on the next macrotask';
          it(`grpc-js ${grpcJs}, ${transport}, channel closed ${when}`, async () => {
            const t = transport === 'TLS' ? { endpoint: tls.endpoint, ca: pki.ca } : { endpoint: plain.endpoint };
            const r = await closeRace({ grpcJs, ...t, calls: CALLS, sameTick, prefix: `race/${grpcJs}/${transport}/${sameTick}` });
            console.log(`${server.name}, grpc-js ${grpcJs}, ${transport}, closed ${when}: ${failed(r)}/${r.calls} failed ${JSON.stringify([...r.failures])}`);
            if (server.name === 'etcd' && transport === 'TLS' && sameTick) return; // Go's net/http2 refuses these: printed above
            assert.deepEqual([...r.failures], []);
          });
        }
      }
    }
  });
}
