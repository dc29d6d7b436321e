// Builds the Go programs under test/go/ with Debian's Go toolchain and etcd/grpc-go sources
// (GOPATH mode: no module downloads here), once per source version: binaries are cached under the
// OS temp dir by a hash of the sources. Suites that need them skip with one line on a machine
// without Go, and fail under CI=true, where a silently skipped interop suite would prove nothing.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const GOCODE = '/usr/share/gocode';
export const GO_MISSING = 'Go or etcd sources not found: apt-get install golang-go golang-etcd-server-dev golang-google-grpc-dev to run the Go interop tests';

function goAvailable(): boolean {
  return existsSync(join(GOCODE, 'src/go.etcd.io/etcd/clientv3')) && process.env.PATH!.split(':').some((d) => existsSync(join(d, 'go')));
}

/** undefined when the Go interop suites can run; the one-line skip reason otherwise (throws under CI=true). */
export function requireGo(): string | undefined {
  if (goAvailable()) return undefined;
  if (process.env.CI === 'true') throw new Error(`${GO_MISSING} (CI=true: the Go interop suites must run in CI)`);
  return GO_MISSING;
}

/** Path of the built binary for test/go/<name>, building it if this source version has not been built. */
export async function buildGoProgram(name: string): Promise<string> {
  const src = new URL(`../go/${name}/`, import.meta.url).pathname;
  const hash = createHash('sha256');
  for (const f of readdirSync(src).sort()) hash.update(f).update(readFileSync(join(src, f)));
  const root = join(tmpdir(), 'coord-go-build');
  const bin = join(root, `${name}-${hash.digest('hex').slice(0, 16)}`);
  if (existsSync(bin)) return bin;
  mkdirSync(root, { recursive: true });
  await promisify(execFile)('go', ['build', '-o', bin, '.'], {
    cwd: src,
    env: { ...process.env, GO111MODULE: 'off', GOPATH: `${join(root, 'gopath')}:${GOCODE}`, GOCACHE: join(root, 'cache'), GOFLAGS: '' },
    maxBuffer: 1 << 24,
  });
  return bin;
}
