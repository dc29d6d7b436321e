// Child process body for bench/lib/echo-process.ts: one Echo server on a free loopback port.
// Prints `listening <host:port>`; reads `delay <ms>` lines on stdin to slow every answer.
import { createInterface } from 'node:readline';
import { startEchoServer } from '../../test/helpers/echo.ts';

const server = await startEchoServer(process.argv[2] ?? 'echo');
console.log(`listening ${server.address}`);
createInterface({ input: process.stdin }).on('line', (line) => {
  const m = /^delay (\d+)$/.exec(line.trim());
  if (m) {
    server.behaviour.delayMs = Number(m[1]);
    console.log(`delay ${m[1]}`);
  }
});
process.stdin.on('end', () => process.exit(0));
