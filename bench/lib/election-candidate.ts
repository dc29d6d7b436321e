// One election candidate process for bench/election.ts:
//   node --import tsx election-candidate.ts <endpoint> <election> <ttl-seconds>
// Prints `ready` once connected, `elected <fencing token>` when it wins, `lost` if leadership goes
// away (then exits). Exits when its stdin closes, so it never outlives the bench.
import { connect } from '../../src/index.ts';

const [endpoint, election, ttl] = process.argv.slice(2);
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();

const coord = connect({ endpoints: endpoint });
await coord.etcd.range('bench/ping');
console.log('ready');
const leadership = await coord.campaign(election, String(process.pid), { ttl: Number(ttl) });
console.log(`elected ${leadership.fencingToken}`);
leadership.signal.addEventListener('abort', () => {
  console.log('lost');
  process.exit(2);
});
