// pino, JSON, with the active span's ids on every line (`trace_id`, `span_id`, `trace_flags`),
// so a log line and the trace it belongs to can be found from each other.
import { context, isSpanContextValid, trace } from '@opentelemetry/api';
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

/** pino options, plus where to write (default stdout). */
export interface LogOptions extends LoggerOptions {
  destination?: DestinationStream;
}

/** The fields naming the active span, or none outside one: pino's `mixin`. */
export function traceLogFields(): { trace_id?: string; span_id?: string; trace_flags?: string } {
  const span = trace.getSpan(context.active());
  if (!span) return {};
  const sc = span.spanContext();
  if (!isSpanContextValid(sc)) return {};
  return { trace_id: sc.traceId, span_id: sc.spanId, trace_flags: `0${sc.traceFlags.toString(16)}`.slice(-2) };
}

/** A JSON logger for `serviceName` whose lines carry the active span's ids (a mixin you pass is merged after them). */
export function createLogger(serviceName: string, options: LogOptions = {}): Logger {
  const { destination, mixin, ...rest } = options;
  const opts: LoggerOptions = {
    base: { service: serviceName },
    ...rest,
    mixin: (obj, level, logger) => ({ ...traceLogFields(), ...mixin?.(obj, level, logger) }),
  };
  return destination ? pino(opts, destination) : pino(opts);
}
