import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { FORMATS, type ConfigFormat } from '../config/config-codec.ts';
import type { ConfigValue } from '../config/config-record.ts';
import { action, connectFrom, intArg, printTable, stderrLog, untilSignal, UsageError, withConnection, type ConnectionFlags } from './common.ts';

interface ConfigFlags extends ConnectionFlags {
  format?: string;
  file?: string;
  author?: string;
  message?: string;
  expectVersion?: string;
  limit?: string;
}

/** `<namespace>/<key>` as one argument, the way people write config paths. */
function splitPath(path: string): [string, string] {
  const i = path.indexOf('/');
  if (i <= 0 || i === path.length - 1) throw new UsageError(`config path must be <namespace>/<key>, got '${path}'`);
  return [path.slice(0, i), path.slice(i + 1)];
}

/**
 * The format a published text is stored in: --format; else the file's extension; else JSON when it
 * looks like a JSON object or array (so `publish app/greet '{"greeting":"Hello"}'` is an object to
 * its subscribers, not a string), text otherwise. JSON-looking input that does not parse is refused
 * rather than silently stored as text.
 */
function publishFormat(raw: string, f: ConfigFlags): ConfigFormat {
  if (f.format !== undefined) {
    if (!(FORMATS as string[]).includes(f.format)) throw new UsageError(`--format must be json, yaml or text, got '${f.format}'`);
    return f.format as ConfigFormat;
  }
  const ext = f.file?.match(/\.(json|ya?ml|txt)$/)?.[1];
  if (ext) return ext === 'json' ? 'json' : ext === 'txt' ? 'text' : 'yaml';
  if (!/^\s*[[{]/.test(raw)) return 'text';
  try {
    JSON.parse(raw);
  } catch (e) {
    throw new UsageError(`the value looks like JSON but does not parse (${(e as Error).message}); pass --format text to publish it as text`);
  }
  return 'json';
}

const meta = (v: ConfigValue) => ({ version: v.version, revision: v.revision, format: v.format, author: v.author, message: v.message, publishedAt: v.publishedAt });

/** `coord config get|publish|history|diff|rollback|watch`. */
export function registerConfigCommands(program: Command): void {
  const config = program.command('config').description('the config center: versioned values with history and rollback');

  withConnection(config.command('get <namespace/key>'))
    .description('print the current value')
    .action(
      action(async (path: string, f: ConfigFlags) => {
        const [ns, key] = splitPath(path);
        const c = connectFrom(f);
        try {
          const v = await c.config.get(ns, key);
          if (!v) {
            console.error(`coord: no config ${path}`);
            return 1;
          }
          if (f.json) console.log(JSON.stringify({ ...meta(v), value: v.value }));
          else process.stdout.write(v.raw.endsWith('\n') ? v.raw : `${v.raw}\n`);
        } finally {
          c.close();
        }
      }),
    );

  withConnection(
    config
      .command('publish <namespace/key> [value]')
      .option('--file <path>', 'read the value from a file')
      .option('--format <fmt>', 'json | yaml | text (default: from the file extension; else json when the value starts with { or [, text otherwise)')
      .option('--author <name>', 'who publishes', process.env.USER ?? 'cli')
      .option('--message <text>', 'why')
      .option('--expect-version <n>', 'fail unless the current version is n (0: must not exist)'),
  )
    .description('publish a new version')
    .action(
      action(async (path: string, value: string | undefined, f: ConfigFlags) => {
        const [ns, key] = splitPath(path);
        if ((value === undefined) === (f.file === undefined)) throw new UsageError('give either a value or --file');
        const raw = f.file ? readFileSync(f.file, 'utf8') : value!;
        const format = publishFormat(raw, f);
        const c = connectFrom(f);
        try {
          const v = await c.config.publish(ns, key, raw, { format, author: f.author, message: f.message, expectedVersion: intArg('--expect-version', f.expectVersion) });
          console.log(f.json ? JSON.stringify(meta(v)) : `published ${path} version ${v.version} as ${v.format} (revision ${v.revision})`);
        } finally {
          c.close();
        }
      }),
    );

  withConnection(config.command('history <namespace/key>').option('--limit <n>', 'newest n versions'))
    .description('list published versions, newest first')
    .action(
      action(async (path: string, f: ConfigFlags) => {
        const [ns, key] = splitPath(path);
        const c = connectFrom(f);
        try {
          const h = await c.config.history(ns, key, { limit: intArg('--limit', f.limit) });
          if (f.json) console.log(JSON.stringify(h.map((v) => ({ ...meta(v), raw: v.raw }))));
          else printTable(['version', 'format', 'published', 'author', 'message'], h.map((v) => [String(v.version), v.format, v.publishedAt, v.author, v.message]));
        } finally {
          c.close();
        }
      }),
    );

  withConnection(config.command('diff <namespace/key> <from> <to>'))
    .description('line diff between two versions')
    .action(
      action(async (path: string, from: string, to: string, f: ConfigFlags) => {
        const [ns, key] = splitPath(path);
        const c = connectFrom(f);
        try {
          const lines = await c.config.diff(ns, key, intArg('<from>', from)!, intArg('<to>', to)!);
          console.log(f.json ? JSON.stringify(lines) : lines.join('\n'));
        } finally {
          c.close();
        }
      }),
    );

  withConnection(config.command('rollback <namespace/key> <version>').option('--author <name>', 'who rolls back', process.env.USER ?? 'cli').option('--message <text>', 'why'))
    .description('publish an old version again, as a new version')
    .action(
      action(async (path: string, version: string, f: ConfigFlags) => {
        const [ns, key] = splitPath(path);
        const c = connectFrom(f);
        try {
          const v = await c.config.rollback(ns, key, intArg('<version>', version)!, { author: f.author, message: f.message });
          console.log(f.json ? JSON.stringify(meta(v)) : `rolled ${path} back to version ${version}: now version ${v.version}`);
        } finally {
          c.close();
        }
      }),
    );

  withConnection(config.command('watch <namespace/key>'))
    .description('print the value and every change until interrupted; keeps watching through etcd outages')
    .action(
      action(async (path: string, f: ConfigFlags) => {
        const [ns, key] = splitPath(path);
        const c = connectFrom(f, stderrLog);
        try {
          await c.etcd.status();
          const w = c.config.subscribe(ns, key, (v) => {
            if (f.json) console.log(JSON.stringify(v ? { ...meta(v), value: v.value } : null));
            else console.log(v ? `--- version ${v.version} (${v.author}${v.message ? `: ${v.message}` : ''})\n${v.raw}` : '--- (no value)');
          });
          // The open subscription keeps the process alive while etcd is away; say the value shown may be stale.
          const connection = c.etcd.watches.onConnection((state) => {
            if (f.json) console.log(JSON.stringify({ stale: state === 'disconnected' }));
            else console.log(state === 'disconnected' ? '--- (stale: etcd unreachable, last known value)' : '--- (etcd reachable again: watching)');
          });
          await untilSignal();
          connection.dispose();
          w.close();
        } finally {
          c.close();
        }
      }),
    );
}
