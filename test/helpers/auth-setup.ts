// The auth set-up most auth tests start from, done through etcd's Auth API on a fresh server:
// user root (root role), one user with one role holding READWRITE on a prefix, then AuthEnable.
import { prefixEnd } from './conformance.ts';
import { RawClient } from './raw-client.ts';

export interface AuthSetup {
  rootPassword?: string;
  user: string;
  password: string;
  /** The prefix the user's role (named like the user) may read and write. */
  prefix: string;
  /** Leave auth off (default: turn it on). */
  enable?: boolean;
}

export async function setUpAuth(endpoint: string, s: AuthSetup): Promise<void> {
  const c = new RawClient(endpoint);
  try {
    await c.authCall('UserAdd', { name: 'root', password: s.rootPassword ?? 'rootpw' });
    await c.authCall('UserGrantRole', { user: 'root', role: 'root' });
    await c.authCall('UserAdd', { name: s.user, password: s.password });
    await c.authCall('RoleAdd', { name: s.user });
    await c.authCall('RoleGrantPermission', { name: s.user, perm: { permType: 2, key: s.prefix, range_end: prefixEnd(s.prefix) } });
    await c.authCall('UserGrantRole', { user: s.user, role: s.user });
    if (s.enable !== false) await c.authCall('AuthEnable');
  } finally {
    c.close();
  }
}
