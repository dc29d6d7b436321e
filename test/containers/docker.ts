// The docker CLI for the container scenario: a daemon of our own when none answers
// (`dockerd --bridge=none --iptables=false`, stopped by pid at the end), and small wrappers that
// run a docker command to its end and return its output or throw with it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

export interface Docker {
  /** Runs `docker ARGS`; resolves with stdout, rejects with stderr on a non-zero exit. */
  run(args: string[]): Promise<string>;
  /** Stops the daemon if this process started it. */
  close(): Promise<void>;
}

export function exec(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A docker that answers: the one DOCKER_HOST names (or the default socket), else our own daemon under `stateDir`. */
export async function openDocker(stateDir: string, log: (line: string) => void): Promise<Docker> {
  let env: NodeJS.ProcessEnv = { ...process.env, DOCKER_BUILDKIT: '0' };
  let daemon: ChildProcess | undefined;
  if ((await exec('docker', ['info', '--format', '{{.ServerVersion}}'], env)).code !== 0) {
    mkdirSync(stateDir, { recursive: true });
    const socket = join(stateDir, 'docker.sock');
    log(`starting dockerd (--bridge=none --iptables=false) on ${socket}`);
    daemon = spawn(
      'dockerd',
      ['--bridge=none', '--iptables=false', '--data-root', join(stateDir, 'root'), '--exec-root', join(stateDir, 'exec'), '--pidfile', join(stateDir, 'dockerd.pid'), '-H', `unix://${socket}`],
      { stdio: 'ignore' },
    );
    env = { ...env, DOCKER_HOST: `unix://${socket}` };
    const deadline = Date.now() + 60_000;
    while ((await exec('docker', ['info', '--format', '{{.ServerVersion}}'], env)).code !== 0) {
      if (daemon.exitCode !== null || Date.now() > deadline) throw new Error('dockerd did not start (is the docker.io package installed? apt-get install docker.io)');
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return {
    async run(args) {
      const r = await exec('docker', args, env);
      if (r.code !== 0) throw new Error(`docker ${args.join(' ')} failed (exit ${r.code}):\n${r.stderr.trim() || r.stdout.trim()}`);
      return r.stdout;
    },
    async close() {
      if (!daemon || daemon.exitCode !== null) return;
      const exited = new Promise((r) => daemon!.once('exit', r));
      daemon.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
      if (daemon.exitCode === null) daemon.kill('SIGKILL');
    },
  };
}
