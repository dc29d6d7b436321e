import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { context, trace } from '@opentelemetry/api';
import { createObservability } from './observability.ts';

describe('observability logger', () => {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l));
      done();
    },
  });
  const obs = createObservability({ serviceName: 'log-test', processMetrics: false, logger: { destination, mixin: () => ({ zone: 'a' }) } });
  after(() => obs.shutdown());

  it('puts the active span\'s trace and span ids on each line, through awaits, and none outside a span', async () => {
    obs.logger.info('outside');
    const span = obs.tracer.startSpan('work');
    await context.with(trace.setSpan(context.active(), span), async () => {
      obs.logger.info('before await');
      await new Promise((r) => setTimeout(r, 5));
      obs.logger.warn({ item: 7 }, 'after await');
    });
    span.end();
    const { traceId, spanId } = span.spanContext();
    assert.deepEqual(
      lines.map((l) => [l.msg, l.trace_id, l.span_id, l.trace_flags]),
      [
        ['outside', undefined, undefined, undefined],
        ['before await', traceId, spanId, '01'],
        ['after await', traceId, spanId, '01'],
      ],
    );
    assert.equal(lines[2].item, 7);
    assert.equal(lines[2].level, 40);
    for (const l of lines) {
      assert.equal(l.service, 'log-test');
      assert.equal(l.zone, 'a', 'a mixin of the caller is kept');
    }
  });
});
