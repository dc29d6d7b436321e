// The packages `coord dev --demo` needs beyond coord's own dependencies: `pg` for the shop's
// services, PGlite for the database the demo serves when DATABASE_URL is not set, and the NATS
// clients when NATS_URL is set. They are optional peer dependencies of etcd-coord: a clone has
// them as devDependencies; an installed package may not, so the demo says in one line what to
// install instead of failing later in a service's log.
import { createRequire } from 'node:module';

/** Package, and the version an `npm install` should ask for (matching our peerDependencies). */
const PACKAGES = {
  pg: 'pg@8',
  pglite: '@electric-sql/pglite@0.5',
  nats: ['@nats-io/transport-node@3', '@nats-io/jetstream@3'],
} as const;

function installed(name: string): boolean {
  try {
    createRequire(import.meta.url).resolve(name);
    return true;
  } catch {
    // Not resolvable from here, so not from the shop's services either (same package tree).
    return false;
  }
}

const nameOf = (spec: string) => spec.slice(0, spec.lastIndexOf('@'));

/** One line naming the exact `npm install …` when a package the demo needs cannot be loaded; undefined when all can. */
export function missingDemoPackages(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const needed: string[] = [PACKAGES.pg, ...(env.DATABASE_URL ? [] : [PACKAGES.pglite]), ...(env.NATS_URL ? PACKAGES.nats : [])];
  const missing = needed.filter((spec) => !installed(nameOf(spec)));
  if (missing.length === 0) return undefined;
  const why = [env.DATABASE_URL ? undefined : 'PGlite serves the demo database when DATABASE_URL is not set', env.NATS_URL ? 'NATS_URL is set' : undefined].filter(Boolean).join('; ');
  return `coord dev: --demo needs ${missing.map(nameOf).join(', ')} (optional peer dependencies${why ? `; ${why}` : ''}): npm install ${missing.join(' ')}`;
}
