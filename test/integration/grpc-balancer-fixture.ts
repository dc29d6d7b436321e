// Shared by the grpc resolver, balancer and health suites: a registry (in-process coord store
// unless an endpoint is given), Echo servers registered in it, Echo clients on `etcd:` targets,
// and call helpers that count where calls went. Everything started here is closed by close().
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation, type ServingStatus } from 'grpc-health-check';
import { connect, type Coord, type ServiceInstance } from '../../src/index.ts';
import type { Registration } from '../../src/registry/registration.ts';
import { setup } from '../../src/grpc/setup.ts';
import { startStore } from '../../src/store/index.ts';
import { echoService, startEchoServer, type EchoReply, type EchoServer } from '../helpers/echo.ts';

export interface Backend extends EchoServer {
  /** Present when started with `health`: set statuses as the server would. */
  readonly health?: HealthImplementation;
}

export interface CallOutcome {
  id?: string;
  error?: grpc.ServiceError;
}

export interface Tally {
  /** Calls answered, by server id. */
  counts: Map<string, number>;
  errors: grpc.ServiceError[];
}

type EchoClient = grpc.Client & {
  Echo(req: object, md: grpc.Metadata, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: EchoReply) => void): grpc.ClientUnaryCall;
};

export class GrpcFixture {
  private readonly closers: Array<() => unknown> = [];
  private serial = 0;
  readonly logs: string[] = [];

  private constructor(
    readonly coord: Coord,
    readonly endpoint: string,
  ) {}

  /** A registry on `endpoint` (a fresh in-process coord store when omitted), the default Coord of setup(). */
  static async start(options: { endpoint?: string; namespace: string }): Promise<GrpcFixture> {
    let endpoint = options.endpoint;
    let closeStore: (() => Promise<void>) | undefined;
    if (!endpoint) {
      const store = await startStore({ listen: '127.0.0.1:0' });
      endpoint = store.endpoint;
      closeStore = () => store.close();
    }
    const coord = connect({ endpoints: endpoint, namespace: options.namespace });
    const f = new GrpcFixture(coord, endpoint);
    setup({ coord, log: (line) => f.logs.push(line) });
    f.closers.push(async () => {
      await coord.close();
      await closeStore?.();
    });
    return f;
  }

  /** A service name no other test of this file uses. */
  service(name = 'echo'): string {
    return `${name}-${++this.serial}`;
  }

  async backend(id: string, options: { health?: ServingStatus } = {}): Promise<Backend> {
    const s = await startEchoServer(id);
    let health: HealthImplementation | undefined;
    if (options.health) {
      health = new HealthImplementation({ '': options.health });
      health.addToServer(s.server);
    }
    this.closers.push(() => s.close());
    return Object.assign(s, health ? { health } : {});
  }

  async register(service: string, b: Backend, extra: Partial<ServiceInstance> = {}): Promise<Registration> {
    const reg = await this.coord.register({ id: b.id, name: service, version: '1.0.0', endpoints: [`grpc://${b.address}`], ...extra });
    this.closers.push(() => reg.deregister());
    return reg;
  }

  client(target: string, options: grpc.ChannelOptions = {}): EchoClient {
    const c = new (echoService().Client)(target, grpc.credentials.createInsecure(), options) as unknown as EchoClient;
    this.closers.push(() => c.close());
    return c;
  }

  call(client: EchoClient, options: { metadata?: Record<string, string>; deadlineMs?: number; sleepMs?: number } = {}): Promise<CallOutcome> {
    const md = new grpc.Metadata();
    for (const [k, v] of Object.entries(options.metadata ?? {})) md.set(k, v);
    return new Promise((resolve) => {
      client.Echo({ message: 'hi', sleep_ms: options.sleepMs ?? 0 }, md, { deadline: Date.now() + (options.deadlineMs ?? 10_000) }, (error, reply) =>
        resolve(error ? { error } : { id: reply!.server_id }),
      );
    });
  }

  /** `n` calls from `concurrency` workers; where they went. */
  async tally(client: EchoClient, n: number, concurrency = 1, options: { metadata?: (i: number) => Record<string, string> } = {}): Promise<Tally> {
    const counts = new Map<string, number>();
    const errors: grpc.ServiceError[] = [];
    let next = 0;
    const worker = async () => {
      while (next < n) {
        const i = next++;
        const r = await this.call(client, options.metadata ? { metadata: options.metadata(i) } : {});
        if (r.id) counts.set(r.id, (counts.get(r.id) ?? 0) + 1);
        else errors.push(r.error!);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return { counts, errors };
  }

  async close(): Promise<void> {
    for (const c of this.closers.splice(0).reverse()) await Promise.resolve(c()).catch(() => {});
  }
}

/** Servers (by id) that answered, sorted. */
export const answered = (t: Tally) => [...t.counts.keys()].sort();
