// Child process body for bench/lib/auth-flood.ts: `<endpoint> <callers>` Authenticate loops for an
// unknown user on one connection, each re-sending as soon as it is answered. Prints `flooding`,
// and when stdin ends, one JSON line counting the answers by kind, then exits.
import { RawClient } from '../../test/helpers/raw-client.ts';

const [endpoint, callers] = [process.argv[2], Number(process.argv[3])];
const client = new RawClient(endpoint);
const counts: Record<string, number> = {};
let on = true;
const loop = async (w: number) => {
  for (let i = 0; on; i++) {
    let kind: string;
    try {
      await client.authCall('Authenticate', { name: `nobody-${w}`, password: `x${i}` });
      kind = 'ok';
    } catch (e) {
      const { code, details } = e as { code?: number; details?: string };
      kind = /authentication failed/.test(details ?? '') ? 'failed' : /too many requests/.test(details ?? '') ? 'tooMany' : `${code}: ${details}`;
    }
    counts[kind] = (counts[kind] ?? 0) + 1;
  }
};
const started = performance.now();
const loops = Array.from({ length: callers }, (_, w) => loop(w));
console.log('flooding');
process.stdin.resume();
process.stdin.on('end', async () => {
  const seconds = (performance.now() - started) / 1000;
  on = false;
  await Promise.all(loops);
  console.log(JSON.stringify({ seconds, counts }));
  client.close();
  process.exit(0);
});
