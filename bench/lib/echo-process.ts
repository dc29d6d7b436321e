// Echo servers as separate processes for gRPC benchmarks, so the client under test does not
// share its event loop with the servers. Each can be slowed at runtime.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface EchoProcess {
  readonly id: string;
  readonly pid: number;
  /** `127.0.0.1:port`. */
  readonly address: string;
  /** Delays every answer by `ms` from now on (0 = none); resolves once the server applied it. */
  setDelay(ms: number): Promise<void>;
  stop(): Promise<void>;
}

const MAIN = fileURLToPath(new URL('./echo-process-main.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const running = new Set<number>();

// 'exit' listeners cannot await: kill synchronously so no server outlives an interrupted bench.
process.on('exit', () => {
  for (const pid of running) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

export async function startEchoProcess(id: string): Promise<EchoProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, id], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not spawn an echo server');
  running.add(pid);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4096)));
  const lines: string[] = [];
  const waiters: Array<() => void> = [];
  let buffered = '';
  child.stdout.on('data', (c: Buffer) => {
    buffered += c.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    lines.push(...parts);
    for (const w of waiters.splice(0)) w();
  });
  const nextLine = (pattern: RegExp, what: string) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`echo ${id}: no ${what} within 20 s:\n${stderr}`)), 20_000);
      const check = () => {
        const i = lines.findIndex((l) => pattern.test(l));
        if (i >= 0) {
          clearTimeout(timer);
          resolve(pattern.exec(lines.splice(i, 1)[0])!);
        } else {
          waiters.push(check);
        }
      };
      void exited.then(() => reject(new Error(`echo ${id} exited:\n${stderr}`)));
      check();
    });
  const address = (await nextLine(/^listening (\S+)$/, 'listening line'))[1];
  return {
    id,
    pid,
    address,
    async setDelay(ms) {
      child.stdin.write(`delay ${ms}\n`);
      await nextLine(new RegExp(`^delay ${ms}$`), 'delay acknowledgement');
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
      running.delete(pid);
    },
  };
}
