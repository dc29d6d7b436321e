// `coord store` on an address other than loopback with neither TLS nor auth says so in one stderr
// line at start (etcd warns about insecure client listeners too), and `coord store --help` tells
// of it. Loopback, TLS, auth from the password file and auth already on in the data dir: silent.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { makePki } from '../helpers/certs.ts';
import { runCli } from '../helpers/cli-process.ts';
import { eventually } from '../helpers/conformance.ts';
import { makeTempDir, removeTempDir, startStoreProcess, stopAllStoreProcesses } from '../helpers/store-process.ts';

const WARNING = /^coord store: WARNING: serving 0\.0\.0\.0:(\d+) on a non-loopback address with neither TLS nor auth: anyone who can reach it can read and change every key \(TLS: --cert\/--key; auth: --auth-root-password-file\)$/;
const HELP_LINE =
  'Warning: with --listen on a non-loopback address (e.g. 0.0.0.0) and neither TLS (--cert/--key) nor auth, anyone who can reach it can read and change every key; coord store says so at start.';

describe('coord store warns when it listens beyond loopback unprotected', () => {
  const dir = makeTempDir('coord-insecure-listen-');
  after(async () => {
    await stopAllStoreProcesses();
    removeTempDir(dir);
  });
  /**
   * The stderr lines of a store started with `args`, up to its shutdown line after SIGINT: the
   * start-up warning, if any, comes before it on the same stream.
   */
  const stderrOf = async (args: string[]) => {
    const store = await startStoreProcess(args);
    await store.kill('SIGINT');
    const lines = () => store.stderr().split('\n');
    try {
      return await eventually('the shutdown line', async () => (lines().includes('coord store: SIGINT, shutting down') ? lines() : undefined));
    } catch (e) {
      throw new Error(`coord store ${args.join(' ')}: ${(e as Error).message}; exit ${JSON.stringify(await store.exited)}, stderr:\n${store.stderr()}`);
    }
  };
  const warnings = (lines: string[]) => lines.filter((l) => l.includes('WARNING'));

  it('0.0.0.0 with neither TLS nor auth: exactly one warning line, naming the port it serves on', async () => {
    const store = await startStoreProcess(['--memory', '--listen', '0.0.0.0:0']);
    await store.waitForStderr(/WARNING[^\n]*\n/);
    await store.kill('SIGINT');
    const lines = await eventually('the shutdown line', async () => (store.stderr().includes('coord store: SIGINT, shutting down\n') ? store.stderr().split('\n') : undefined));
    const found = warnings(lines);
    assert.equal(found.length, 1, lines.join('\n'));
    assert.equal(WARNING.exec(found[0])?.[1], String(store.port), found[0]);
  });

  it('silent on loopback, with TLS, with auth from the password file, and with auth already on in the data dir', async () => {
    assert.deepEqual(warnings(await stderrOf(['--memory', '--listen', '127.0.0.1:0'])), []);
    const pki = makePki();
    const cert = join(dir, 'server.pem');
    const key = join(dir, 'server.key');
    writeFileSync(cert, pki.serverCert);
    writeFileSync(key, pki.serverKey);
    assert.deepEqual(warnings(await stderrOf(['--memory', '--listen', '0.0.0.0:0', '--cert', cert, '--key', key])), []);
    const pw = join(dir, 'root.pw');
    writeFileSync(pw, 'rootpw\n');
    const data = join(dir, 'data');
    const seeded = await stderrOf(['--data-dir', data, '--listen', '0.0.0.0:0', '--auth-root-password-file', pw]);
    assert.ok(seeded.some((l) => l === 'coord store: auth enabled'), seeded.join('\n'));
    assert.deepEqual(warnings(seeded), []);
    assert.deepEqual(warnings(await stderrOf(['--data-dir', data, '--listen', '0.0.0.0:0'])), [], 'auth is on from the data dir');
  });

  it('coord store --help has the line', async () => {
    const r = await runCli(['store', '--help']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.split('\n').includes(HELP_LINE), r.stdout);
  });
});
