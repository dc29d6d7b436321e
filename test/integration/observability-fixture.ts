// A three-hop system for the observability tests: Echo service A (serve(), registered in an
// in-process coord store) whose handler calls Echo service B through `etcd:///`, both with the
// tracing interceptors, and one Observability for the process with an in-memory span exporter.
// The HTTP front (a plain Fastify app, or the gateway) is up to each test.
import { Writable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { parsePrometheus } from '../../src/admin/prometheus-text.ts';
import { connect, type Coord } from '../../src/index.ts';
import { clientInterceptors } from '../../src/grpc/client-interceptors.ts';
import { serve } from '../../src/grpc/serve.ts';
import type { CoordServer } from '../../src/grpc/server-handle.ts';
import { setup } from '../../src/grpc/setup.ts';
import { createObservability, type Observability } from '../../src/observability/index.ts';
import { startStore, type StoreHandle } from '../../src/store/index.ts';
import { until } from '../helpers/coord-fixture.ts';
import { echoHandlers, echoService, type EchoReply, type EchoRequest } from '../helpers/echo.ts';

export type EchoStub = grpc.Client & {
  Echo(req: EchoRequest, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, reply?: EchoReply) => void): grpc.ClientUnaryCall;
};

export interface TraceSystem {
  readonly obs: Observability;
  readonly exporter: InMemorySpanExporter;
  readonly coord: Coord;
  readonly store: StoreHandle;
  readonly a: CoordServer;
  readonly b: CoordServer;
  /** Names registered in the coord store: `etcd:///<aName>` reaches A. */
  readonly aName: string;
  readonly bName: string;
  /** JSON log lines written by `obs.logger` (A's handler logs one per call). */
  readonly logs: Array<Record<string, unknown>>;
  /** A client of A through `etcd:///`, with `interceptors` first (the caller's tracing) then coord's. */
  clientOfA(interceptors: grpc.Interceptor[]): EchoStub;
  /** Finished spans of one trace. */
  spansOf(traceId: string): ReadableSpan[];
  /** Waits until `count` spans of the trace have finished (the HTTP span ends after the reply is sent), then returns them. */
  waitForSpans(traceId: string, count: number): Promise<ReadableSpan[]>;
  /** Waits for the first finished span named `name`. */
  waitForSpan(name: string): Promise<ReadableSpan>;
  close(): Promise<void>;
}

export function echo(client: EchoStub, req: EchoRequest): Promise<EchoReply> {
  return new Promise((resolve, reject) => client.Echo(req, new grpc.Metadata(), { deadline: Date.now() + 10_000 }, (e, r) => (e ? reject(e) : resolve(r!))));
}

export async function startTraceSystem(): Promise<TraceSystem> {
  const exporter = new InMemorySpanExporter();
  const logs: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n')) if (line) logs.push(JSON.parse(line));
      done();
    },
  });
  const obs = createObservability({ serviceName: 'obs-test', spanProcessors: [new SimpleSpanProcessor(exporter)], processMetrics: false, logger: { destination } });
  const store = await startStore({ listen: '127.0.0.1:0' });
  const coord = connect({ endpoints: store.endpoint, namespace: '/obs-test/' });
  setup({ coord, log: () => {} });
  const { service, Client } = echoService();
  const closers: Array<() => unknown> = [];
  const aName = 'obs-a';
  const bName = 'obs-b';

  const b = await serve({ coord, name: bName, services: [[service, echoHandlers('b')]], interceptors: obs.grpcServerInterceptors(), signals: false, drainDelayMs: 0, log: () => {} });
  const toB = new Client(`etcd:///${bName}`, grpc.credentials.createInsecure(), {
    interceptors: [...obs.grpcClientInterceptors({ target: `etcd:///${bName}` }), ...clientInterceptors()],
  }) as unknown as EchoStub;
  closers.push(() => toB.close());
  const a = await serve({
    coord,
    name: aName,
    services: [
      [
        service,
        {
          async Echo(call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, callback: grpc.sendUnaryData<EchoReply>) {
            obs.logger.info({ message: call.request.message }, 'a handling');
            try {
              const fromB = await echo(toB, { message: `${call.request.message}>a`, fail_code: call.request.fail_code });
              callback(null, { message: `${fromB.message}>b`, server_id: 'a' });
            } catch (e) {
              callback(e as grpc.ServiceError);
            }
          },
        },
      ],
    ],
    interceptors: obs.grpcServerInterceptors(),
    signals: false,
    drainDelayMs: 0,
    log: () => {},
  });

  const spansOf = (traceId: string) => exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
  return {
    obs,
    exporter,
    coord,
    store,
    a,
    b,
    aName,
    bName,
    logs,
    clientOfA(interceptors) {
      const c = new Client(`etcd:///${aName}`, grpc.credentials.createInsecure(), { interceptors: [...interceptors, ...clientInterceptors()] }) as unknown as EchoStub;
      closers.push(() => c.close());
      return c;
    },
    spansOf,
    async waitForSpans(traceId, count) {
      await until(() => spansOf(traceId).length >= count, 10_000, `${count} spans of trace ${traceId}`);
      return spansOf(traceId);
    },
    async waitForSpan(name) {
      return (await until(() => exporter.getFinishedSpans().find((s) => s.name === name), 10_000, `a ${name} span`))!;
    },
    async close() {
      for (const c of closers.reverse()) c();
      await Promise.all([a.close({ drainDelayMs: 0, graceMs: 0 }), b.close({ drainDelayMs: 0, graceMs: 0 })]);
      await coord.close();
      await store.close();
      await obs.shutdown();
    },
  };
}

/** The one span of `spans` with this name and kind; fails listing what there is otherwise. */
export function only(spans: ReadableSpan[], name: string, kind: number): ReadableSpan {
  const found = spans.filter((s) => s.name === name && s.kind === kind);
  if (found.length !== 1) throw new Error(`expected one ${name} span of kind ${kind}, found ${found.length} among ${spans.map((s) => `${s.name}/${s.kind}`).join(', ')}`);
  return found[0];
}

/** The value of the Prometheus sample `name` with exactly these labels (any order) in `text`, or undefined. */
export function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const want = Object.entries(labels);
  const found = parsePrometheus(text, 0).samples.get(name)?.find((s) => Object.keys(s.labels).length === want.length && want.every(([k, v]) => s.labels[k] === v));
  return found?.value;
}
