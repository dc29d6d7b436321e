import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePrometheus, rateFigures } from './prometheus-text.ts';

const scrape = (at: number, ok: number, failed: number, buckets: Record<string, number>, health = 0) =>
  parsePrometheus(
    [
      '# HELP grpc_server_handled_total Calls handled',
      '# TYPE grpc_server_handled_total counter',
      `grpc_server_handled_total{grpc_service="shop.Orders",grpc_method="Create",grpc_code="OK"} ${ok}`,
      `grpc_server_handled_total{grpc_service="shop.Orders",grpc_method="Create",grpc_code="UNAVAILABLE"} ${failed}`,
      `grpc_server_handled_total{grpc_service="grpc.health.v1.Health",grpc_method="Check",grpc_code="OK"} ${health}`,
      ...Object.entries(buckets).map(([le, n]) => `grpc_server_handling_seconds_bucket{grpc_service="shop.Orders",grpc_method="Create",le="${le}"} ${n}`),
      `grpc_server_handling_seconds_bucket{grpc_service="grpc.health.v1.Health",grpc_method="Check",le="+Inf"} ${health}`,
    ].join('\n'),
    at,
  );

describe('prometheus scrape figures', () => {
  it('parses labels with escapes and skips comments', () => {
    const s = parsePrometheus('# c\nm{a="x\\"y",b="1"} 3\nn 4.5\n', 0);
    assert.deepEqual(s.samples.get('m'), [{ labels: { a: 'x"y', b: '1' }, value: 3 }]);
    assert.equal(s.samples.get('n')![0]!.value, 4.5);
  });

  it('computes rps, error rate and an interpolated p99 from two scrapes, ignoring health checks', () => {
    const a = scrape(0, 100, 0, { '0.005': 100, '0.01': 100, '0.1': 100, '+Inf': 100 }, 5);
    // 200 more calls in 2 s: 190 ok, 10 failed; 150 under 5 ms, 40 in 5-10 ms, 10 in 10-100 ms.
    const b = scrape(2000, 290, 10, { '0.005': 250, '0.01': 290, '0.1': 300, '+Inf': 300 }, 500);
    const f = rateFigures(a, b);
    assert.equal(f.requestsPerSecond, 100);
    assert.equal(f.errorRate, 0.05);
    // rank 198 of 200 falls in the 10-100 ms bucket at (198-190)/10 of its width.
    assert.ok(Math.abs(f.p99Ms! - (10 + 90 * 0.8)) < 1e-9, String(f.p99Ms));
  });

  it('reports unknown figures after a restart (counters went down) and when nothing is exported', () => {
    const a = scrape(0, 100, 0, { '+Inf': 100 });
    const b = scrape(1000, 5, 0, { '+Inf': 5 });
    assert.deepEqual(rateFigures(a, b), { requestsPerSecond: null, errorRate: null, p99Ms: null });
    assert.deepEqual(rateFigures(parsePrometheus('', 0), parsePrometheus('', 1000)), { requestsPerSecond: null, errorRate: null, p99Ms: null });
  });

  it('reports zero traffic as 0 rps with no p99', () => {
    const a = scrape(0, 10, 0, { '+Inf': 10 });
    const b = scrape(1000, 10, 0, { '+Inf': 10 });
    assert.deepEqual(rateFigures(a, b), { requestsPerSecond: 0, errorRate: 0, p99Ms: null });
  });
});
