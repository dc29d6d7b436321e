// Clients closing around others: `npm run chaos -- goaway [--rounds 40] [--storms 20] [--closers 8] [--races 200]`.
// On coord store and real etcd, over TLS and plaintext: the reported etcd3 election pattern
// `rounds` times, then `storms` rounds of `closers` raw clients closing with streams and calls in
// flight around three survivors under load. Every HTTP/2 session is recorded; prints the figures
// per server and exits 1 on any failed call, a GOAWAY on a session in use, or a survivor disconnect.
// Then `races` calls per server, grpc-js version (1.8 via the grpc-js-18 alias, today's), transport
// and timing whose client closes its channel as the call starts (test/helpers/close-race.ts); each
// must complete, except on etcd over TLS in the same step (Go's net/http2 refuses those: counted,
// not a problem).
// The CI version is test/integration/store-goaway.test.ts.
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { makePki, TLS_BY_NAME } from '../helpers/certs.ts';
import { recordGoaways } from '../helpers/goaway-recorder.ts';
import { closeStorm, electionRounds, goawayServers } from './lib/goaway-scenario.ts';
import { closeRace, failed, type GrpcJs } from '../helpers/close-race.ts';

export async function run(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { rounds: { type: 'string', default: '40' }, storms: { type: 'string', default: '20' }, closers: { type: 'string', default: '8' }, races: { type: 'string', default: '200' } },
  });
  const rounds = Number(values.rounds);
  const storms = Number(values.storms);
  const closers = Number(values.closers);
  const races = Number(values.races);
  const grpcJs = (await import('@grpc/grpc-js/package.json', { with: { type: 'json' } })).default.version;
  console.log(`goaway: ${rounds} election rounds per server and transport, ${storms} storms of ${closers} closing clients; grpc-js ${grpcJs}, Node ${process.version}`);
  const pki = makePki();
  const rec = recordGoaways();
  const rows: string[][] = [['server', 'run', 'rounds / closers', 'sessions', 'answers to a client GOAWAY', 'survivor puts', 'problems']];
  const problems: string[] = [];
  const started = performance.now();
  try {
    for (const server of goawayServers) {
      if (server.skip) {
        console.log(`${server.name}: skipped (${server.skip})`);
        continue;
      }
      const tls = await server.start(pki, true);
      const plain = await server.start(pki, false);
      try {
        const runs = [
          { run: 'etcd3 election, TLS', r: await electionRounds({ hosts: `https://${tls.endpoint}`, credentials: { rootCertificate: pki.ca }, grpcOptions: TLS_BY_NAME }, rounds, rec) },
          { run: 'etcd3 election, plaintext (shared)', r: await electionRounds({ hosts: `http://${plain.endpoint}` }, rounds, rec) },
        ];
        for (const { run, r } of runs) {
          rows.push([server.name, run, String(r.rounds), String(r.sessions), String(r.answered), '-', String(r.problems.length)]);
          problems.push(...r.problems.map((p) => `${server.name}, ${run}: ${p}`));
        }
        const storm = await closeStorm(tls.endpoint, () => grpc.credentials.createSsl(pki.ca), storms, closers, rec);
        rows.push([server.name, 'close storm, TLS', String(storm.closers), '-', String(storm.answered), String(storm.survivorCalls), String(storm.problems.length)]);
        problems.push(...storm.problems.map((p) => `${server.name}, close storm: ${p}`));
        for (const grpcJs of ['1.8', '1.14'] as GrpcJs[]) {
          for (const [transport, t] of [['TLS', { endpoint: tls.endpoint, ca: pki.ca }], ['plaintext', { endpoint: plain.endpoint }]] as const) {
            for (const sameTick of [true, false]) {
              const run = `close race, grpc-js ${grpcJs}, ${transport}, ${sameTick ? 'same step' : 'next macrotask'}`;
              const r = await closeRace({ grpcJs, ...t, calls: races, sameTick, prefix: `chaos-race/${grpcJs}/${transport}/${sameTick}` });
              const expectedRefusals = server.name === 'etcd' && transport === 'TLS' && sameTick;
              rows.push([server.name, run, String(races), '-', '-', '-', `${failed(r)} failed${expectedRefusals ? ' (etcd refuses these)' : ''}`]);
              if (!expectedRefusals && failed(r) > 0) problems.push(`${server.name}, ${run}: ${JSON.stringify([...r.failures])}`);
            }
          }
        }
      } finally {
        await tls.stop();
        await plain.stop();
      }
    }
  } finally {
    rec.stop();
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i])).join('  '));
  console.log(`unprovoked GOAWAYs (a server dropping a client that did nothing): ${rec.unprovoked().length}`);
  console.log(`time ${((performance.now() - started) / 1000).toFixed(1)} s`);
  for (const p of problems.slice(0, 50)) console.log(`PROBLEM: ${p}`);
  return problems.length === 0 && rec.unprovoked().length === 0 ? 0 : 1;
}
