// OTLP/HTTP span export is optional. Its package (@opentelemetry/exporter-trace-otlp-http, which
// brings the OTLP transformer and the OpenTelemetry metrics and logs SDKs, about 10 MB) is an
// optional peer dependency of coord: installed by those who export spans, absent for everyone
// else. Its presence is checked when observability is created, so a missing package is one clear
// error at start-up instead of spans lost later.
import { createRequire } from 'node:module';
import { ExportResultCode } from '@opentelemetry/core';
import type { SpanExporter } from '@opentelemetry/sdk-trace-base';
import { CoordError } from '../core/errors.ts';

/** The optional peer dependency `otlp: { url }` needs. */
export const OTLP_EXPORTER_PACKAGE = '@opentelemetry/exporter-trace-otlp-http';

/**
 * An OTLP/HTTP span exporter to `url`, loading the exporter package on first use. Throws
 * CoordError `invalid-argument` when the package is not installed.
 */
export function otlpHttpExporter(config: { url: string; headers?: Record<string, string> }): SpanExporter {
  try {
    createRequire(import.meta.url).resolve(OTLP_EXPORTER_PACKAGE);
  } catch (e) {
    throw new CoordError('invalid-argument', `observability: otlp.url needs the optional package ${OTLP_EXPORTER_PACKAGE} (npm install ${OTLP_EXPORTER_PACKAGE})`, { cause: e });
  }
  const exporter = import('@opentelemetry/exporter-trace-otlp-http').then((m): SpanExporter => new m.OTLPTraceExporter(config));
  exporter.catch(() => {}); // reported by the first export
  return {
    export(spans, done) {
      exporter.then(
        (e) => e.export(spans, done),
        (error: Error) => done({ code: ExportResultCode.FAILED, error }),
      );
    },
    async shutdown() {
      await (await exporter).shutdown();
    },
    async forceFlush() {
      await (await exporter).forceFlush?.();
    },
  };
}
