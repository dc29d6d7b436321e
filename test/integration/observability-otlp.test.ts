// `otlp: { url }` sends spans to an OTLP/HTTP collector through the optional exporter package,
// loaded on first use (src/observability/otlp-exporter.ts). The collector is a real HTTP server.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { createObservability } from '../../src/observability/index.ts';

test('otlp.url: spans reach the collector as OTLP/HTTP when observability shuts down', async (t) => {
  const received: Array<{ url: string; type: string; body: Buffer }> = [];
  const collector = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ url: req.url ?? '', type: req.headers['content-type'] ?? '', body: Buffer.concat(chunks) });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => collector.close(() => resolve())));
  const { port } = collector.address() as AddressInfo;

  const obs = createObservability({ serviceName: 'otlp-export-test', otlp: { url: `http://127.0.0.1:${port}/v1/traces` }, processMetrics: false });
  obs.tracer.startSpan('checkout').end();
  await obs.shutdown(); // flushes the batch

  assert.equal(received.length, 1);
  assert.equal(received[0].url, '/v1/traces');
  assert.match(received[0].type, /^application\/json/); // the http exporter's JSON encoding
  assert.ok(received[0].body.includes('otlp-export-test'), 'the span batch carries service.name');
  assert.ok(received[0].body.includes('checkout'), 'and the span');
});
