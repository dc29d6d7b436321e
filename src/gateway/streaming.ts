// Server-streaming methods over HTTP: newline-delimited JSON (`{"result": …}` per message, as
// grpc-gateway writes it) or, when the client accepts `text/event-stream`, server-sent events.
// The HTTP status waits for the first message, so a call that fails at once is an ordinary error
// answer; a failure after that is written in-stream (`{"error": …}` / `event: error`). Slow
// readers pause the gRPC stream (the handler cancels it when the client goes away).
import { PassThrough } from 'node:stream';
import type * as grpc from '@grpc/grpc-js';
import type { FastifyReply } from 'fastify';
import type { ErrorBody } from './status-http.ts';

export interface StreamFormat {
  contentType: string;
  message(json: unknown): string;
  error(body: ErrorBody): string;
}

export const NDJSON: StreamFormat = {
  contentType: 'application/x-ndjson; charset=utf-8',
  message: (json) => `${JSON.stringify({ result: json })}\n`,
  error: (body) => `${JSON.stringify({ error: body })}\n`,
};

export const SSE: StreamFormat = {
  contentType: 'text/event-stream; charset=utf-8',
  message: (json) => `data: ${JSON.stringify(json)}\n\n`,
  error: (body) => `event: error\ndata: ${JSON.stringify(body)}\n\n`,
};

export function streamFormat(accept: string | undefined): StreamFormat {
  return accept?.includes('text/event-stream') ? SSE : NDJSON;
}

/**
 * Sends `call`'s messages as `format`. Resolves once the response has started; rejects with the
 * call's error when it fails before its first message (the caller answers it as usual).
 */
export function sendStream(
  reply: FastifyReply,
  call: grpc.ClientReadableStream<unknown>,
  format: StreamFormat,
  toJson: (msg: unknown) => unknown,
  errorBody: (e: grpc.ServiceError) => ErrorBody,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let out: PassThrough | undefined;
    let failed = false;
    const start = () => {
      out = new PassThrough();
      out.on('drain', () => call.resume());
      void reply.header('content-type', format.contentType).header('cache-control', 'no-cache').header('x-accel-buffering', 'no').send(out);
      resolve();
    };
    call.on('data', (msg: unknown) => {
      if (failed) return;
      if (!out) start();
      if (!out!.write(format.message(toJson(msg)))) call.pause();
    });
    call.on('error', (e: grpc.ServiceError) => {
      if (failed) return;
      failed = true;
      if (!out) return reject(e);
      out.end(format.error(errorBody(e)));
    });
    call.on('end', () => {
      if (failed) return;
      if (!out) start();
      out!.end();
    });
  });
}
