import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { ROOT_CONTEXT, trace, TraceFlags } from '@opentelemetry/api';
import { TraceState, W3CTraceContextPropagator } from '@opentelemetry/core';
import { headersGetter, metadataGetter, metadataSetter, splitMethodPath } from './propagation.ts';

const propagator = new W3CTraceContextPropagator();
const remote = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: TraceFlags.SAMPLED };

describe('trace context carriers', () => {
  it('injects traceparent and tracestate into gRPC metadata and extracts them back', () => {
    const md = new grpc.Metadata();
    propagator.inject(trace.setSpanContext(ROOT_CONTEXT, { ...remote, traceState: new TraceState('vendor=1') }), md, metadataSetter);
    assert.equal(md.get('traceparent')[0], '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    assert.equal(md.get('tracestate')[0], 'vendor=1');
    const back = trace.getSpanContext(propagator.extract(ROOT_CONTEXT, md, metadataGetter))!;
    assert.deepEqual([back.traceId, back.spanId, back.traceFlags, back.isRemote, back.traceState?.get('vendor')], [remote.traceId, remote.spanId, TraceFlags.SAMPLED, true, '1']);
  });

  it('extracts from HTTP headers, case-insensitively by key, and ignores a malformed traceparent', () => {
    const ok = trace.getSpanContext(propagator.extract(ROOT_CONTEXT, { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00' }, headersGetter));
    assert.equal(ok?.traceId, remote.traceId);
    assert.equal(ok?.traceFlags, TraceFlags.NONE);
    assert.equal(trace.getSpanContext(propagator.extract(ROOT_CONTEXT, { traceparent: '00-zz-b7ad6b7169203331-01' }, headersGetter)), undefined);
    const md = new grpc.Metadata();
    md.set('traceparent', '00-nope-01');
    assert.equal(trace.getSpanContext(propagator.extract(ROOT_CONTEXT, md, metadataGetter)), undefined);
  });

  it('reads binary or absent metadata values as absent', () => {
    const md = new grpc.Metadata();
    md.set('x-bin', Buffer.from('x'));
    assert.equal(metadataGetter.get(md, 'x-bin'), undefined);
    assert.equal(metadataGetter.get(md, 'traceparent'), undefined);
  });

  it('splits method paths', () => {
    assert.deepEqual(splitMethodPath('/pkg.v1.Orders/Get'), { service: 'pkg.v1.Orders', method: 'Get' });
    assert.deepEqual(splitMethodPath('odd'), { service: 'unknown', method: 'odd' });
  });
});
