import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import type { Command } from 'commander';
import { action, connectFrom, intArg, UsageError, untilSignal, withConnection, type ConnectionFlags } from './common.ts';

interface LockFlags extends ConnectionFlags {
  ttl: string;
  observe?: boolean;
}

/** `coord lock <name> -- <command>` and `coord elect <name> <value>` / `coord elect --observe <name>`. */
export function registerLockCommands(program: Command): void {
  withConnection(program.command('lock <name> [command...]').option('--ttl <s>', 'lease TTL in seconds', '10'))
    .description('run a command while holding a distributed lock (FIFO; env COORD_LOCK_KEY, COORD_FENCING_TOKEN)')
    .action(
      action(async (name: string, command: string[], f: LockFlags) => {
        if (command.length === 0) throw new UsageError('give the command to run after --, e.g. coord lock jobs -- ./run.sh');
        const c = connectFrom(f);
        // A signal while waiting withdraws from the queue; once held, it only stops the command, so
        // the lock is released after the command exits rather than reported as lost.
        const waiting = new AbortController();
        let child: ChildProcess | undefined;
        const onSig = (sig: NodeJS.Signals) => (child ? child.kill('SIGTERM') : waiting.abort(new Error(sig)));
        process.once('SIGINT', onSig);
        process.once('SIGTERM', onSig);
        try {
          const h = await c.lock(name, { ttl: intArg('--ttl', f.ttl), signal: waiting.signal });
          try {
            const cmd = spawn(command[0], command.slice(1), {
              stdio: 'inherit',
              env: { ...process.env, COORD_LOCK_KEY: h.key, COORD_FENCING_TOKEN: String(h.fencingToken) },
            });
            child = cmd;
            const lost = () => {
              console.error(`coord: lock ${name} lost (${(h.signal.reason as Error)?.message}); stopping the command`);
              cmd.kill('SIGTERM');
            };
            h.signal.addEventListener('abort', lost, { once: true });
            const code = await new Promise<number>((resolve, reject) => {
              cmd.on('error', (e) => reject(new UsageError(`cannot run ${command[0]}: ${e.message}`)));
              cmd.on('exit', (code, sig) => resolve(code ?? 128 + (sig ? constants.signals[sig] : 0)));
            });
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
        const c = connectFrom(f);
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
