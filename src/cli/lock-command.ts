import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import type { Command } from 'commander';
import { action, connectFrom, intArg, stderrLog, UsageError, untilSignal, withConnection, type ConnectionFlags } from './common.ts';

interface LockFlags extends ConnectionFlags {
  ttl: string;
  observe?: boolean;
  waitTimeout?: string;
  killAfter: string;
}

/** Sends `signal` to every process of the group led by `pid`; false when none is left. */
function signalGroup(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false; // ESRCH: the whole group is gone
  }
}

/**
 * Stops the command's whole process group — the command and anything it started (`sh -c '…; sleep
 * 25'`) — with SIGTERM, then SIGKILL for whatever is left after `graceMs`. Resolves once the group is gone.
 */
async function stopGroup(pid: number, graceMs: number): Promise<void> {
  if (!signalGroup(pid, 'SIGTERM')) return;
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    if (!signalGroup(pid, 0)) return;
  }
  signalGroup(pid, 'SIGKILL');
}

/** `coord lock <name> -- <command>` and `coord elect <name> <value>` / `coord elect --observe <name>`. */
export function registerLockCommands(program: Command): void {
  withConnection(
    program
      .command('lock <name> [command...]')
      .option('--ttl <s>', 'lease TTL in seconds', '10')
      .option('--wait-timeout <ms>', 'give up (exit 1) if the lock is not held within this many ms; waits through etcd outages until then')
      .option('--kill-after <ms>', 'after SIGTERM to the command (lock lost, Ctrl-C), SIGKILL what is left of its process group after this many ms', '10000'),
  )
    .description('run a command while holding a distributed lock (FIFO; env COORD_LOCK_KEY, COORD_FENCING_TOKEN); the command runs in its own process group, stopped as a whole when the lock is lost')
    .action(
      action(async (name: string, command: string[], f: LockFlags) => {
        if (command.length === 0) throw new UsageError('give the command to run after --, e.g. coord lock jobs -- ./run.sh');
        const waitMs = intArg('--wait-timeout', f.waitTimeout);
        const killAfterMs = intArg('--kill-after', f.killAfter)!;
        const c = connectFrom(f, stderrLog);
        // A signal while waiting withdraws from the queue; once held, it stops the command's group,
        // and the lock is released after the group is gone rather than reported as lost.
        const waiting = new AbortController();
        let stopping: Promise<void> | undefined;
        let child: ChildProcess | undefined;
        const stop = () => (stopping ??= child?.pid === undefined ? Promise.resolve() : stopGroup(child.pid, killAfterMs));
        const onSig = (sig: NodeJS.Signals) => (child ? void stop() : waiting.abort(new Error(sig)));
        process.on('SIGINT', onSig);
        process.on('SIGTERM', onSig);
        try {
          // A timer on our own controller, not AbortSignal.timeout() combined with any(): Node holds
          // such signals weakly, and a collected one never fires.
          let timedOut = false;
          const timer = waitMs === undefined ? undefined : setTimeout(() => ((timedOut = true), waiting.abort(new Error('--wait-timeout'))), waitMs);
          // etcd unreachable at the start is most likely a wrong --endpoints: say so at once. Once
          // queued, an outage is waited out (bounded by --wait-timeout).
          let h;
          try {
            await c.etcd.status({ signal: waiting.signal });
            h = await c.lock(name, { ttl: intArg('--ttl', f.ttl), signal: waiting.signal });
          } catch (e) {
            if (timedOut) {
              console.error(`coord: lock ${name} not held within --wait-timeout ${waitMs} ms`);
              return 1;
            }
            throw e;
          } finally {
            clearTimeout(timer);
          }
          try {
            // detached: the command leads a process group of its own, so everything it starts can be
            // stopped with it (and a terminal's Ctrl-C reaches it through us, not behind our back).
            const cmd = spawn(command[0], command.slice(1), {
              stdio: 'inherit',
              detached: true,
              env: { ...process.env, COORD_LOCK_KEY: h.key, COORD_FENCING_TOKEN: String(h.fencingToken) },
            });
            child = cmd;
            const held = h;
            const lost = () => {
              console.error(`coord: lock ${name} lost (${(held.signal.reason as Error)?.message}); stopping the command and its process group`);
              void stop();
            };
            h.signal.addEventListener('abort', lost, { once: true });
            const code = await new Promise<number>((resolve, reject) => {
              cmd.on('error', (e) => reject(new UsageError(`cannot run ${command[0]}: ${e.message}`)));
              cmd.on('exit', (code, sig) => resolve(code ?? 128 + (sig ? constants.signals[sig] : 0)));
            });
            // Children the command left behind must not go on working once the lock is released.
            if (cmd.pid !== undefined) await (stopping ?? stopGroup(cmd.pid, killAfterMs));
            const wasLost = h.signal.aborted;
            h.signal.removeEventListener('abort', lost);
            return wasLost ? 1 : code;
          } finally {
            await h.release();
          }
        } finally {
          process.off('SIGINT', onSig);
          process.off('SIGTERM', onSig);
          await c.close();
        }
      }),
    );

  withConnection(program.command('elect <name> [value]').option('--ttl <s>', 'lease TTL in seconds', '10').option('--observe', 'print the leader of <name> as it changes'))
    .description('campaign for leadership of <name> with <value> and hold it until interrupted; or observe')
    .action(
      action(async (name: string, value: string | undefined, f: LockFlags) => {
        const c = connectFrom(f, stderrLog);
        try {
          if (f.observe) {
            const ac = new AbortController();
            await c.etcd.status();
            void untilSignal().then(() => ac.abort());
            for await (const l of c.observe(name, ac.signal)) {
              if (f.json) console.log(JSON.stringify(l ? { value: l.value.toString(), key: l.key, fencingToken: l.revision } : null));
              else console.log(l ? `${l.value.toString()} (key ${l.key}, token ${l.revision})` : '(no leader)');
            }
            return;
          }
          if (value === undefined) throw new UsageError('give a value to campaign with: coord elect <name> <value>');
          // A signal while campaigning withdraws; once elected it resigns. The campaign signal must
          // not fire after election: it would close the session instead of resigning.
          const campaigning = new AbortController();
          let elected = false;
          const stop = untilSignal().then((sig) => {
            if (!elected) campaigning.abort(new Error(sig));
          });
          const l = await c.campaign(name, value, { ttl: intArg('--ttl', f.ttl), signal: campaigning.signal });
          elected = true;
          console.log(f.json ? JSON.stringify({ leader: true, key: l.key, fencingToken: l.fencingToken }) : `elected leader of ${name} (key ${l.key}, token ${l.fencingToken}); Ctrl-C resigns`);
          const lost = new Promise<boolean>((resolve) => l.signal.addEventListener('abort', () => resolve(true), { once: true }));
          const why = await Promise.race([stop.then(() => false), lost]);
          if (why) {
            console.error(`coord: leadership of ${name} lost (${(l.signal.reason as Error)?.message})`);
            return 1;
          }
          await l.resign();
        } finally {
          await c.close();
        }
      }),
    );
}
