// etcdctl's auth commands (user / role / auth) print the same against real etcd and coord store,
// as a transcript: each command with the exit code and output etcd 3.4 gives (stdout on success,
// stderr on failure). It covers the refusals too: AuthEnable without root, duplicates, unknown
// roles, no token, wrong passwords, non-root admin calls, the root rules, revoked permissions.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Etcdctl } from '../helpers/etcdctl.ts';
import { etcdctlServers } from '../helpers/etcdctl-servers.ts';

const ROOT = ['--user', 'root:rootpw'];
/** [arguments, exit code, what it prints: stdout when it succeeds, stderr when it fails]. */
const TRANSCRIPT: Array<[string[], number, string]> = [
  [["auth", "enable"], 1, "Error: etcdserver: root user does not exist\n"],
  [["user", "add", "root:rootpw"], 0, "User root created\n"],
  [["user", "add", "root:rootpw"], 1, "Error: etcdserver: user name already exists\n"],
  [["user", "add", "alice:alicepw"], 0, "User alice created\n"],
  [["user", "add", "svc", "--no-password"], 0, "User svc created\n"],
  [["role", "add", "app"], 0, "Role app created\n"],
  [["role", "grant-permission", "app", "readwrite", "/app/", "--prefix=true"], 0, "Role app updated\n"],
  [["role", "grant-permission", "app", "read", "/ro"], 0, "Role app updated\n"],
  [["role", "grant-permission", "app", "write", "w1", "w5"], 0, "Role app updated\n"],
  [["role", "grant-permission", "app", "read", "/from", "--from-key"], 0, "Role app updated\n"],
  [["role", "grant-permission", "nope", "read", "/x"], 1, "Error: etcdserver: role name not found\n"],
  [["role", "get", "app"], 0, "Role app\nKV Read:\n\t[/app/, /app0) (prefix /app/)\n\t[/from, <open ended>\n\t/ro\nKV Write:\n\t[/app/, /app0) (prefix /app/)\n\t[w1, w5)\n"],
  [["role", "list"], 0, "app\n"],
  [["user", "grant-role", "alice", "app"], 0, "Role app is granted to user alice\n"],
  [["user", "grant-role", "alice", "nope"], 1, "Error: etcdserver: role name not found\n"],
  [["user", "get", "alice"], 0, "User: alice\nRoles: app\n"],
  [["user", "get", "alice", "--detail"], 0, "User: alice\n\nRole app\nKV Read:\n\t[/app/, /app0) (prefix /app/)\n\t[/from, <open ended>\n\t/ro\nKV Write:\n\t[/app/, /app0) (prefix /app/)\n\t[w1, w5)\n"],
  [["user", "list"], 0, "alice\nroot\nsvc\n"],
  [["auth", "enable"], 0, "Authentication Enabled\n"],
  [["put", "/app/a", "1"], 1, "Error: etcdserver: user name is empty\n"],
  [["--user", "alice:alicepw", "put", "/app/a", "1"], 0, "OK\n"],
  [["--user", "alice:alicepw", "get", "/app/a"], 0, "/app/a\n1\n"],
  [["--user", "alice:alicepw", "put", "/ro", "x"], 1, "Error: etcdserver: permission denied\n"],
  [["--user", "alice:alicepw", "get", "/", "--prefix"], 1, "Error: etcdserver: permission denied\n"],
  [["--user", "alice:wrong", "get", "/app/a"], 2, "Error: etcdserver: authentication failed, invalid user ID or password\n"],
  [["--user", "nobody:x", "get", "/app/a"], 2, "Error: etcdserver: authentication failed, invalid user ID or password\n"],
  [["--user", "alice:alicepw", "user", "list"], 1, "Error: etcdserver: permission denied\n"],
  [["--user", "alice:alicepw", "role", "get", "app"], 0, "Role app\nKV Read:\n\t[/app/, /app0) (prefix /app/)\n\t[/from, <open ended>\n\t/ro\nKV Write:\n\t[/app/, /app0) (prefix /app/)\n\t[w1, w5)\n"],
  [[...ROOT, "user", "list"], 0, "alice\nroot\nsvc\n"],
  [[...ROOT, "user", "get", "root"], 0, "User: root\nRoles: root\n"],
  [[...ROOT, "role", "list"], 0, "app\nroot\n"],
  [[...ROOT, "role", "revoke-permission", "app", "/ro"], 0, "Permission of key /ro is revoked from role app\n"],
  [[...ROOT, "role", "revoke-permission", "app", "/ro"], 1, "Error: etcdserver: permission is not granted to the role\n"],
  [[...ROOT, "user", "revoke-role", "alice", "app"], 0, "Role app is revoked from user alice\n"],
  [[...ROOT, "user", "revoke-role", "alice", "app"], 1, "Error: etcdserver: role is not granted to the user\n"],
  [[...ROOT, "user", "delete", "root"], 1, "Error: etcdserver: invalid auth management\n"],
  [[...ROOT, "role", "delete", "root"], 1, "Error: etcdserver: invalid auth management\n"],
  [[...ROOT, "user", "passwd", "alice", "--interactive=false"], 0, "Password updated\n"],
  [[...ROOT, "user", "delete", "alice"], 0, "User alice deleted\n"],
  [[...ROOT, "user", "delete", "alice"], 1, "Error: etcdserver: user name not found\n"],
  [[...ROOT, "role", "delete", "app"], 0, "Role app deleted\n"],
  [[...ROOT, "auth", "disable"], 0, "Authentication Disabled\n"],
  [["put", "/app/a", "2"], 0, "OK\n"],
  [["user", "list"], 0, "root\nsvc\n"],
];

const servers = etcdctlServers;

for (const server of servers) {
  describe(`etcdctl auth commands against ${server.name}`, { skip: server.skip }, () => {
    let running: { endpoint: string; stop(): Promise<void> } | undefined;
    before(async () => {
      running = await server.start();
    });
    after(async () => {
      await running?.stop();
    });

    it('prints what etcd prints for every command of the transcript', async () => {
      const ctl = new Etcdctl(running!.endpoint);
      for (const [args, code, output] of TRANSCRIPT) {
        // `user passwd` reads the new password from stdin.
        const r = await ctl.run(args, { input: args.includes('passwd') ? 'newpw\n' : '' });
        assert.deepEqual(
          { args, code: r.code, output: r.code === 0 ? r.stdout : r.stderr },
          { args, code, output },
        );
      }
    });
  });
}
