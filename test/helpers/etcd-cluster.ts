// Starts a real 3-member etcd cluster on loopback for fault tests: every member on 127.0.0.1 with
// its own free client and peer ports and temp data dir, short raft timers so a lost leader is
// replaced within a couple of seconds. Members are killed by pid (SIGKILL) and restarted on the
// same data dir, ports and flags, as a crashed machine would come back.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { etcdProto } from '../../src/protocol/etcd-proto.ts';
import { ETCD_MISSING, etcdBinary } from './etcd-process.ts';

/** Options for {@link startEtcdCluster}; defaults in each field's doc. */
export interface EtcdClusterOptions {
  /** Members. Default 3. */
  size?: number;
  /** `--heartbeat-interval` in ms. Default 100. */
  heartbeatMs?: number;
  /** `--election-timeout` in ms (raft randomises each member's timeout within [t, 2t)). Default 1000. */
  electionTimeoutMs?: number;
  /** How long to wait for the cluster (or a restarted member) to serve. Default 20 s. */
  startTimeoutMs?: number;
}

export interface MemberStatus {
  /** The member's own raft id (decimal string, as etcd puts it in response headers). */
  id: string;
  /** The leader this member currently follows, '0' when it knows none. */
  leader: string;
  raftTerm: number;
  raftIndex: number;
}

export interface EtcdMember {
  readonly name: string;
  /** `127.0.0.1:port` of the client (gRPC) listener. */
  readonly endpoint: string;
  /** pid of the current process; undefined while the member is down. */
  readonly pid: number | undefined;
  readonly running: boolean;
  /** This member's raft id, learned at start-up. */
  readonly id: string;
  /** Maintenance.Status of this member, bounded by `timeoutMs`. */
  status(timeoutMs?: number): Promise<MemberStatus>;
}

export interface EtcdCluster {
  readonly members: readonly EtcdMember[];
  /** Every member's client endpoint, for clients that balance over the whole cluster. */
  readonly endpoints: string[];
  /**
   * The member every running member agrees is the leader (Maintenance.Status `leader`), polling
   * until they agree; rejects after `timeoutMs`.
   */
  leader(timeoutMs?: number): Promise<EtcdMember>;
  /** SIGKILLs the member by pid and waits for the exit; its data dir is kept for restart(). */
  kill(member: EtcdMember): Promise<void>;
  /** Starts a killed member again on its data dir and waits until it serves linearizable reads. */
  restart(member: EtcdMember): Promise<void>;
  /** Kills every member and removes the data dirs. */
  stop(): Promise<void>;
}

const live = new Map<number, ChildProcess>();
const dirs = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' listeners cannot await: an interrupted run must still not leave members or dirs behind.
  process.on('exit', () => {
    for (const pid of live.keys()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
}

/** `n` distinct free loopback ports: all listeners stay open until every port is chosen. */
export async function freePorts(n: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < n; i++) {
      const server = createServer();
      servers.push(server);
      ports.push(
        await new Promise<number>((resolve, reject) => {
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
        }),
      );
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class Member implements EtcdMember {
  id = '';
  private child: ChildProcess | undefined;
  private output = '';
  private readonly kv: grpc.Client;
  private readonly maintenance: grpc.Client;

  constructor(
    readonly name: string,
    readonly endpoint: string,
    private readonly args: string[],
  ) {
    const proto = etcdProto();
    this.kv = new proto.KV(endpoint, grpc.credentials.createInsecure());
    this.maintenance = new proto.Maintenance(endpoint, grpc.credentials.createInsecure(), {
      channelOverride: this.kv.getChannel() as grpc.Channel,
    });
  }

  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last few KB of the member's own log, for failure messages. */
  log(): string {
    return this.output;
  }

  spawn(bin: string): void {
    const child = spawn(bin, this.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    if (child.pid === undefined) throw new Error(`could not spawn ${bin}`);
    const pid = child.pid;
    live.set(pid, child);
    child.once('exit', () => live.delete(pid));
    const keep = (chunk: Buffer): void => {
      this.output = (this.output + chunk.toString()).slice(-8192);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.child = child;
  }

  async kill(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const exited = new Promise((r) => child.once('exit', r));
    process.kill(child.pid as number, 'SIGKILL');
    await exited;
  }

  private call<T>(client: grpc.Client, method: string, req: unknown, timeoutMs: number): Promise<T> {
    return new Promise((resolve, reject) => {
      const fn = (client as unknown as Record<string, Function>)[method];
      fn.call(client, req, { deadline: Date.now() + timeoutMs }, (err: grpc.ServiceError | null, res: T) => (err ? reject(err) : resolve(res)));
    });
  }

  async status(timeoutMs = 1000): Promise<MemberStatus> {
    const r = await this.call<{ leader: string; raftTerm: string; raftIndex: string; header: { member_id: string } }>(this.maintenance, 'Status', {}, timeoutMs);
    return { id: r.header.member_id, leader: r.leader, raftTerm: Number(r.raftTerm), raftIndex: Number(r.raftIndex) };
  }

  /** Polls until a linearizable Range succeeds: the member has a leader and has caught up with it. */
  async waitServing(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running) throw new Error(`etcd member ${this.name} exited (${this.child?.exitCode ?? this.child?.signalCode}) before serving:\n${this.output}`);
      try {
        await this.call(this.kv, 'Range', { key: Buffer.from('health') }, 1000);
        this.id = (await this.status()).id;
        return;
      } catch {
        if (Date.now() > deadline) throw new Error(`etcd member ${this.name} did not serve within ${timeoutMs} ms:\n${this.output}`);
        await sleep(100);
      }
    }
  }

  close(): void {
    this.kv.close();
  }
}

/** Starts a fresh cluster and resolves once every member serves linearizable reads. */
export async function startEtcdCluster(options: EtcdClusterOptions = {}): Promise<EtcdCluster> {
  const bin = etcdBinary();
  if (!bin) throw new Error(ETCD_MISSING);
  const o = { size: 3, heartbeatMs: 100, electionTimeoutMs: 1000, startTimeoutMs: 20_000, ...options };
  installExitHook();
  const ports = await freePorts(o.size * 2);
  const names = Array.from({ length: o.size }, (_, i) => `m${i + 1}`);
  const peerUrl = (i: number) => `http://127.0.0.1:${ports[2 * i + 1]}`;
  const initialCluster = names.map((n, i) => `${n}=${peerUrl(i)}`).join(',');
  const token = `coord-test-${process.pid}-${ports[0]}`;
  const root = mkdtempSync(join(tmpdir(), 'coord-etcd-cluster-'));
  dirs.add(root);

  const members = names.map((name, i) => {
    const clientUrl = `http://127.0.0.1:${ports[2 * i]}`;
    // On restart etcd finds its membership in the data dir and ignores the --initial-* flags.
    return new Member(name, `127.0.0.1:${ports[2 * i]}`, [
      '--name', name,
      '--data-dir', join(root, name),
      '--listen-client-urls', clientUrl,
      '--advertise-client-urls', clientUrl,
      '--listen-peer-urls', peerUrl(i),
      '--initial-advertise-peer-urls', peerUrl(i),
      '--initial-cluster', initialCluster,
      '--initial-cluster-token', token,
      '--initial-cluster-state', 'new',
      '--heartbeat-interval', String(o.heartbeatMs),
      '--election-timeout', String(o.electionTimeoutMs),
      '--logger', 'zap',
      '--log-level', 'error',
    ]);
  });

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      await Promise.all(members.map((m) => m.kill()));
      for (const m of members) m.close();
      rmSync(root, { recursive: true, force: true });
      dirs.delete(root);
    })();
    return stopped;
  };

  const cluster: EtcdCluster = {
    members,
    endpoints: members.map((m) => m.endpoint),
    async leader(timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      let seen = '';
      for (;;) {
        const up = members.filter((m) => m.running);
        const statuses = await Promise.all(up.map((m) => m.status(500).catch(() => undefined)));
        const leaders = new Set(statuses.map((s) => s?.leader ?? '0'));
        const [id] = leaders;
        const leader = members.find((m) => m.id === id);
        if (leaders.size === 1 && leader?.running) return leader;
        seen = statuses.map((s, i) => `${up[i].name}: ${s ? `leader ${s.leader} term ${s.raftTerm}` : 'no answer'}`).join(', ');
        if (Date.now() > deadline) throw new Error(`the etcd members did not agree on a leader within ${timeoutMs} ms (${seen})`);
        await sleep(50);
      }
    },
    kill: (member) => (member as Member).kill(),
    async restart(member) {
      const m = member as Member;
      if (m.running) throw new Error(`etcd member ${m.name} is still running`);
      m.spawn(bin);
      await m.waitServing(o.startTimeoutMs);
    },
    stop,
  };

  try {
    // All at once: the first member cannot serve until a quorum of its peers is up.
    for (const m of members) m.spawn(bin);
    await Promise.all(members.map((m) => m.waitServing(o.startTimeoutMs)));
  } catch (err) {
    await stop();
    throw err;
  }
  return cluster;
}
