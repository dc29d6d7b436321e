import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { isCoordError } from '../core/errors.ts';
import { serve } from '../grpc/serve.ts';
import { AdaptiveThrottle } from '../resilience/adaptive-throttle.ts';
import { createObservability } from './observability.ts';

/** Every metric coord exports: the names are public API (dashboards and alerts use them). */
const COORD_METRICS = [
  'http_server_requests_total',
  'http_server_request_duration_seconds',
  'grpc_server_handled_total',
  'grpc_server_handling_seconds',
  'coord_grpc_server_rejected_total',
  'coord_grpc_server_in_flight',
  'grpc_client_handled_total',
  'grpc_client_handling_seconds',
  'coord_grpc_client_picks_total',
  'coord_throttle_reject_probability',
  'coord_throttle_window_requests',
  'coord_throttle_window_accepts',
  'coord_throttle_rejected_total',
  'coord_lock_wait_seconds',
  'coord_lock_held_seconds',
  'coord_election_events_total',
  'coord_etcd_history_lost_total',
  'coord_config_publishes_total',
  'coord_config_reloads_total',
  'coord_registry_events_total',
  'coord_lease_events_total',
];

const bytes = { serialize: (b: Buffer) => b, deserialize: (b: Buffer) => b };
const service: grpc.ServiceDefinition = {
  Ping: { path: '/test.M/Ping', requestStream: false, responseStream: false, requestSerialize: bytes.serialize, requestDeserialize: bytes.deserialize, responseSerialize: bytes.serialize, responseDeserialize: bytes.deserialize },
};

describe('observability metrics', () => {
  it('exports exactly coord\'s metric names (with HELP and TYPE), plus process metrics unless turned off', async () => {
    const obs = createObservability({ serviceName: 'm' });
    try {
      const text = (await obs.scrape()).body;
      const names = [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]);
      for (const n of COORD_METRICS) {
        assert.ok(names.includes(n), `${n} is exported`);
        assert.match(text, new RegExp(`^# HELP ${n} \\S`, 'm'));
      }
      assert.ok(names.includes('process_cpu_user_seconds_total'), 'process metrics by default');
      assert.ok(names.includes('nodejs_eventloop_lag_seconds'));
      assert.throws(() => createObservability({ serviceName: 'second' }), (e) => isCoordError(e, 'invalid-argument') && /already registered/.test(e.message));
    } finally {
      await obs.shutdown();
    }
    const bare = createObservability({ serviceName: 'm2', processMetrics: false });
    try {
      const names = [...(await bare.scrape()).body.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]);
      assert.deepEqual(names.sort(), [...COORD_METRICS].sort());
    } finally {
      await bare.shutdown();
    }
  });

  it('serveMetrics: GET /metrics only; 404 elsewhere, 405 for other methods; a bad listen address is a clear error', async () => {
    const obs = createObservability({ serviceName: 'm', processMetrics: false });
    try {
      assert.throws(() => createObservability({ serviceName: '' }), /serviceName is required/);
      await assert.rejects(obs.serveMetrics({ listen: 'nonsense' }), /metrics: listen must be host:port or a port, got "nonsense"/);
      await assert.rejects(obs.serveMetrics({ listen: 70000 }), /metrics: port must be 0\.\.65535/);
      await using server = await obs.serveMetrics({ listen: '127.0.0.1:0' });
      assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      const ok = await fetch(server.url);
      assert.equal(ok.status, 200);
      assert.match(ok.headers.get('content-type') ?? '', /text\/plain; version=0\.0\.4/);
      assert.match(await ok.text(), /# TYPE grpc_server_handled_total counter/);
      const other = await fetch(server.url.replace('/metrics', '/other'));
      assert.equal(other.status, 404);
      assert.match(await other.text(), /metrics are at \/metrics/);
      assert.equal((await fetch(server.url, { method: 'POST' })).status, 405);
      await assert.rejects(obs.serveMetrics({ listen: `127.0.0.1:${server.port}` }), (e) => isCoordError(e, 'unavailable') && /cannot listen on 127\.0\.0\.1:\d+/.test(e.message));
    } finally {
      await obs.shutdown();
    }
  });

  it('watchThrottle exports the throttle\'s window and counts its local rejections; watchServer counts refused calls by reason', async () => {
    const obs = createObservability({ serviceName: 'm', processMetrics: false });
    const now = { t: 0 };
    const throttle = new AdaptiveThrottle({ now: () => now.t, random: () => 0 });
    const sub = obs.watchThrottle(throttle, 'etcd:///orders');
    const server = await serve({ name: 'metrics-test', services: [[service, { Ping: (_c: unknown, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.alloc(0)) }]], rateLimits: { '*': { rate: 0.001, burst: 1 } }, signals: false, drainDelayMs: 0, log: () => {} });
    const Client = grpc.makeGenericClientConstructor(service, 'M');
    const client = new Client(server.address, grpc.credentials.createInsecure()) as unknown as grpc.Client & { Ping(b: Buffer, cb: (e: grpc.ServiceError | null) => void): void };
    try {
      obs.watchServer(server);
      for (let i = 0; i < 20; i++) throttle.tryAcquire()?.failed();
      const rejected = throttle.stats().rejectedTotal;
      assert.ok(rejected > 0, 'the throttle rejected some');
      const codes: number[] = [];
      for (let i = 0; i < 3; i++) codes.push(await new Promise<number>((res) => client.Ping(Buffer.alloc(0), (e) => res(e?.code ?? 0))));
      assert.deepEqual(codes, [0, grpc.status.RESOURCE_EXHAUSTED, grpc.status.RESOURCE_EXHAUSTED]);

      const text = (await obs.scrape()).body;
      assert.match(text, new RegExp(`coord_throttle_rejected_total\\{target="etcd:///orders"\\} ${rejected}\\n`));
      assert.match(text, /coord_throttle_window_requests\{target="etcd:\/\/\/orders"\} 20\n/);
      assert.match(text, /coord_throttle_window_accepts\{target="etcd:\/\/\/orders"\} 0\n/);
      assert.match(text, /coord_throttle_reject_probability\{target="etcd:\/\/\/orders"\} 0\.\d+\n/);
      assert.match(text, /coord_grpc_server_rejected_total\{server="metrics-test",grpc_service="test.M",grpc_method="Ping",reason="rate-limit"\} 2\n/);
      assert.match(text, /coord_grpc_server_in_flight\{server="metrics-test"\} 0\n/);
      // A second scrape does not count the same rejections again.
      assert.match((await obs.scrape()).body, new RegExp(`coord_throttle_rejected_total\\{target="etcd:///orders"\\} ${rejected}\\n`));
      sub.dispose();
      assert.doesNotMatch((await obs.scrape()).body, /coord_throttle_window_requests\{/);
    } finally {
      client.close();
      await server.close({ drainDelayMs: 0, graceMs: 0 });
      await obs.shutdown();
    }
  });
});
