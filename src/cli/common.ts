import type { Command } from 'commander';
import type { connect as Connect, Coord } from '../coord.ts';
import { CoordError, isCoordError } from '../core/errors.ts';

export interface ConnectionFlags {
  endpoints: string;
  namespace: string;
  json?: boolean;
  timeout: string;
  user?: string;
}

/** Adds the flags every command that talks to etcd shares. */
export function withConnection(cmd: Command): Command {
  return cmd
    .option('--endpoints <list>', 'etcd endpoints, comma separated', process.env.COORD_ENDPOINTS ?? '127.0.0.1:2379')
    .option('--namespace <prefix>', 'key prefix coord uses', process.env.COORD_NAMESPACE ?? '/coord/')
    .option('--json', 'machine-readable output (one JSON document or one per line)')
    .option('--timeout <ms>', 'request timeout', '5000')
    .option('--user <name[:password]>', "etcd credentials when auth is on, as etcdctl's --user (env COORD_USER; the password may come from COORD_PASSWORD)", process.env.COORD_USER);
}

let connect: typeof Connect | undefined;

/**
 * Loads the client (grpc-js, protobufjs, zod) when a command body runs (action() does), so that
 * `coord --help`, usage errors and `coord store` never load it.
 */
async function loadClient(): Promise<void> {
  connect ??= (await import('../coord.ts')).connect;
}

/** A client for the command's flags; `log` receives the client's notable events (outages, history lost). */
export function connectFrom(flags: ConnectionFlags, log?: (line: string) => void): Coord {
  const timeout = Number(flags.timeout);
  if (!Number.isInteger(timeout) || timeout <= 0) throw new UsageError(`--timeout must be a positive integer, got '${flags.timeout}'`);
  if (!connect) throw new Error('connectFrom() outside action()');
  return connect({ endpoints: flags.endpoints, namespace: flags.namespace, requestTimeoutMs: timeout, auth: credentials(flags.user), log });
}

/** Log lines of a long-running command: on stderr, prefixed like its errors. */
export const stderrLog = (line: string): void => void process.stderr.write(`coord: ${line}\n`);

/** `--user name:password` (or `--user name` with COORD_PASSWORD), as etcdctl takes them. */
function credentials(user: string | undefined): { username: string; password: string } | undefined {
  if (user === undefined) return undefined;
  const i = user.indexOf(':');
  const username = i < 0 ? user : user.slice(0, i);
  const password = i < 0 ? process.env.COORD_PASSWORD : user.slice(i + 1);
  if (!username) throw new UsageError('--user needs a user name: --user name:password');
  if (password === undefined) throw new UsageError(`--user ${username}: give the password as --user ${username}:PASSWORD or in COORD_PASSWORD`);
  return { username, password };
}

/** A mistake in the command line: exit code 2. */
export class UsageError extends Error {}

/**
 * Runs a command body: one clear line on failure (etcd unreachable, bad argument, …) and a
 * non-zero exit; the client is always closed.
 */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | void>) {
  return async (...args: A): Promise<void> => {
    try {
      await loadClient();
      const code = await fn(...args);
      process.exitCode = code ?? 0;
    } catch (e) {
      console.error(`coord: ${describe(e, args)}`);
      process.exitCode = e instanceof UsageError || isCoordError(e, 'invalid-argument') ? 2 : 1;
    }
  };
}

function describe(e: unknown, args: unknown[]): string {
  if (isCoordError(e, 'unavailable')) {
    // The client's own message already says what it was doing, where and why.
    if (/cannot reach etcd at /.test(e.message)) return e.message.replace(/^etcd \w+: /, '');
    const flags = args.find((a): a is ConnectionFlags => typeof a === 'object' && a !== null && 'endpoints' in a);
    return `cannot reach etcd at ${flags?.endpoints ?? 'the given endpoints'} (${(e as CoordError).message})`;
  }
  const message = (e as Error)?.message ?? String(e);
  // What etcd says when auth is on and no credentials were sent; say what to do about it.
  if (/etcdserver: user name is empty/.test(message)) return `${message} (etcd has auth on: pass --user name:password)`;
  return message;
}

/** Prints rows as an aligned table with a header line. */
export function printTable(columns: string[], rows: string[][]): void {
  const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
  console.log(line(columns.map((c) => c.toUpperCase())));
  for (const r of rows) console.log(line(r));
}

/** Resolves on the first SIGINT/SIGTERM (for commands that run until stopped). */
export function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    const on = (sig: string) => () => resolve(sig);
    process.once('SIGINT', on('SIGINT'));
    process.once('SIGTERM', on('SIGTERM'));
  });
}

export function intArg(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${name} must be a non-negative integer, got '${v}'`);
  return n;
}
