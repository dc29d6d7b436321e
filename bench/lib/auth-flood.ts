// An Authenticate flood from its own process (bench/lib/auth-flood-main.ts), so the flood's
// client work does not slow the measuring process's own clients.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('./auth-flood-main.ts', import.meta.url));
const RUN_SOURCE = fileURLToPath(new URL('../../scripts/run-source.mjs', import.meta.url));

export interface FloodResult {
  /** Answers per second, by kind: `failed` (wrong login), `tooMany` (refused at once), or the code and text of anything else. */
  perSec: Record<string, number>;
}

export interface AuthFlood {
  /** Ends the flood and reports what it was answered. */
  stop(): Promise<FloodResult>;
}

/** Starts `callers` Authenticate loops against `endpoint`; resolves once they run. */
export async function startAuthFlood(endpoint: string, callers: number): Promise<AuthFlood> {
  const child = spawn(process.execPath, ['--import', RUN_SOURCE, MAIN, endpoint, String(callers)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4096)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
      if (stdout.startsWith('flooding\n')) resolve();
    });
    void exited.then((code) => reject(new Error(`auth flood exited (${code}) before starting:\n${stderr}`)));
  });
  return {
    async stop() {
      child.stdin.end();
      const code = await exited;
      const line = stdout.split('\n').find((l) => l.startsWith('{'));
      if (code !== 0 || !line) throw new Error(`auth flood ended badly (${code}):\n${stdout}${stderr}`);
      const { seconds, counts } = JSON.parse(line) as { seconds: number; counts: Record<string, number> };
      return { perSec: Object.fromEntries(Object.entries(counts).map(([k, n]) => [k, n / seconds])) };
    },
  };
}
