// etcd-coord/gateway against two baselines over the same gRPC backend, in one run:
//   (a) a bare Fastify handler calling a generated grpc-js client directly (goal: gateway ≥ 0.7x)
//   (b) the same route written with Express the ordinary way (goal: gateway ≥ 3x)
// The three HTTP servers share one child process (bench/lib/gateway-http-main.ts); the Echo
// backend runs in another, registered in an in-process coord store. Load comes from this process:
// closed loop, HTTP/1.1 keep-alive, fixed concurrency, JSON POSTs. Rounds alternate between the
// servers so drift on a shared machine hits all alike; figures are medians over rounds. Server
// CPU per request (the HTTP process) is the least noisy figure on a small machine.
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { connect } from '../src/index.ts';
import { startStore } from '../src/store/index.ts';
import { fmtInt, fmtMs, printMachine, ratio, watchdog } from './lib/backends.ts';
import { startEchoProcess } from './lib/echo-process.ts';
import { closedLoop, printTable, type LoadResult } from './lib/harness.ts';

const CONCURRENCY = [16, 64];
const WARMUP_MS = 2_000;
const ROUND_MS = 3_000;
const ROUNDS = 5;
const BODY = JSON.stringify({ message: 'hello gateway', sleep_ms: 0 });

const median = (xs: number[]) => Float64Array.from(xs).sort()[Math.floor(xs.length / 2)];

function post(agent: Agent, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request({ agent, host: '127.0.0.1', port, method: 'POST', path: '/v1/echo', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(BODY) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => (res.statusCode === 200 && text.includes('hello gateway') ? resolve() : reject(new Error(`HTTP ${res.statusCode}: ${text}`))));
    });
    req.on('error', reject);
    req.end(BODY);
  });
}

async function startServers(storeEndpoint: string): Promise<{ pid: number; ports: Record<string, number>; stop: () => void }> {
  const main = fileURLToPath(new URL('./lib/gateway-http-main.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', main, storeEndpoint], { stdio: ['pipe', 'pipe', 'inherit'] });
  const stop = () => child.exitCode === null && child.kill('SIGKILL');
  process.on('exit', stop);
  const ports = await new Promise<Record<string, number>>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c;
      const m = /^ports (.*)$/m.exec(out);
      if (m) resolve(JSON.parse(m[1]) as Record<string, number>);
    });
    child.once('exit', (code) => reject(new Error(`HTTP servers exited (${code})`)));
  });
  return { pid: child.pid!, ports, stop };
}

export async function run(): Promise<void> {
  const dog = watchdog('gateway', 10 * 60_000);
  printMachine();
  const store = await startStore({ listen: '127.0.0.1:0' });
  const coord = connect({ endpoints: store.endpoint });
  const backend = await startEchoProcess('echo-1');
  const reg = await coord.register({ id: 'echo-1', name: 'echo', endpoints: [`grpc://${backend.address}`] });
  const servers = await startServers(store.endpoint);
  const variants = [
    { name: 'coord gateway', port: servers.ports.gateway },
    { name: 'bare Fastify + grpc client', port: servers.ports.fastify },
    { name: 'Express + grpc client', port: servers.ports.express },
  ];
  console.log(`HTTP servers pid ${servers.pid}, Echo backend pid ${backend.pid}; ${ROUNDS} alternating rounds of ${ROUND_MS / 1000} s per server after ${WARMUP_MS / 1000} s warmup; medians over rounds`);
  const rows: string[][] = [];
  const verdicts: string[] = [];
  try {
    for (const concurrency of CONCURRENCY) {
      console.log(`measuring concurrency ${concurrency}...`);
      const agents = variants.map(() => new Agent({ keepAlive: true, maxSockets: concurrency }));
      const results: LoadResult[][] = variants.map(() => []);
      const measure = (i: number, ms: number, warm: number) =>
        closedLoop({ concurrency, warmupMs: warm, durationMs: ms, op: () => post(agents[i], variants[i].port), cpuOfPid: servers.pid });
      for (let i = 0; i < variants.length; i++) await measure(i, 500, WARMUP_MS);
      for (let r = 0; r < ROUNDS; r++) {
        for (let k = 0; k < variants.length; k++) {
          const i = (k + r) % variants.length;
          results[i].push(await measure(i, ROUND_MS, 0));
        }
      }
      for (const a of agents) a.destroy();
      const stats = results.map((rs) => ({
        perSec: median(rs.map((x) => x.opsPerSec)),
        p50: median(rs.map((x) => x.p50)),
        p99: median(rs.map((x) => x.p99)),
        cpuUs: median(rs.map((x) => x.cpuUsPerOp)),
      }));
      const gw = stats[0];
      variants.forEach((v, i) => {
        const s = stats[i];
        rows.push([String(concurrency), v.name, fmtInt(s.perSec), i === 0 ? '-' : ratio(gw.perSec, s.perSec), fmtMs(s.p50), fmtMs(s.p99), s.cpuUs.toFixed(0)]);
      });
      const vsFastify = gw.perSec / stats[1].perSec;
      const vsExpress = gw.perSec / stats[2].perSec;
      verdicts.push(`c=${concurrency}: gateway/bare Fastify ${vsFastify.toFixed(2)}x (goal ≥ 0.70x) ${vsFastify >= 0.7 ? 'met' : 'NOT met'}; gateway/Express ${vsExpress.toFixed(2)}x (goal ≥ 3x) ${vsExpress >= 3 ? 'met' : 'NOT met'}`);
    }
  } finally {
    servers.stop();
    await reg.deregister();
    await coord.close();
    await backend.stop();
    await store.close();
    dog.clear();
  }
  console.log('');
  printTable(['concurrency', 'server', 'req/s', 'gateway ÷ this', 'p50 ms', 'p99 ms', 'server CPU µs/req'], rows);
  console.log('');
  for (const v of verdicts) console.log(v);
}
