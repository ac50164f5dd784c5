import { Worker } from 'node:worker_threads';
import { errorBody } from '../../shared/http/error-body.ts';

/** One HTTP request as the front passes it to the functions' loop. */
export interface FrontRequest {
  id: number;
  method: string;
  url: string;
  /** Name, value, name, value … as received. */
  rawHeaders: string[];
  body: string;
  remoteAddress: string;
}

export interface FrontResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export type FrontAnswer = FrontResponse & { id: number };

/** What the worker thread needs (structured-cloned into it). */
export interface FrontSettings {
  port: number;
  host: string;
  backlog: number;
  maxBodyBytes: number;
  keepAliveTimeoutMs: number;
  answers: {
    tooLarge: FrontResponse;
    malformed: FrontResponse & { reason: string };
    headersTooLarge: FrontResponse & { reason: string };
    timedOut: FrontResponse & { reason: string };
  };
}

export interface HttpFront {
  port: number;
  close(): Promise<void>;
}

/** Accepted before a handler runs, like API Gateway's own 10 MB cap (the handlers enforce 16 KB). */
const MAX_REQUEST_BYTES = 1024 * 1024;

const json = { 'Content-Type': 'application/json' };

/**
 * An HTTP server whose accepting and parsing run in a worker thread (http-front.worker.mjs), so a
 * client's connection is accepted at once however busy the loop running the functions is (a busy
 * loop accepted ~50 connections/s; real clients open one each). Each request reaches `handle` on
 * this thread as a message, and its answer goes back the same way.
 */
export async function startHttpFront(
  options: { port: number; host: string },
  handle: (request: FrontRequest) => Promise<FrontResponse>,
): Promise<HttpFront> {
  const settings: FrontSettings = {
    port: options.port,
    host: options.host,
    // A flash crowd opens many connections at once: a deeper accept queue than Node's 511.
    backlog: 4096,
    maxBodyBytes: MAX_REQUEST_BYTES,
    keepAliveTimeoutMs: 30_000,
    answers: {
      tooLarge: { status: 413, headers: json, body: errorBody('PAYLOAD_TOO_LARGE', 'The body is too large') },
      malformed: {
        status: 400,
        reason: 'Bad Request',
        headers: json,
        body: errorBody('VALIDATION_ERROR', 'The request is not well-formed HTTP/1.1'),
      },
      headersTooLarge: {
        status: 431,
        reason: 'Request Header Fields Too Large',
        headers: json,
        body: errorBody('PAYLOAD_TOO_LARGE', 'The request headers are too large'),
      },
      timedOut: {
        status: 408,
        reason: 'Request Timeout',
        headers: json,
        body: errorBody('VALIDATION_ERROR', 'The request did not arrive in time'),
      },
    },
  };
  const worker = new Worker(new URL('./http-front.worker.mjs', import.meta.url), { workerData: settings });
  const answer = (request: FrontRequest) => {
    handle(request)
      .catch((error: unknown) => {
        console.error('local runtime error', error);
        return { status: 500, headers: json, body: errorBody('INTERNAL', 'Local runtime error') };
      })
      .then((response) => worker.postMessage({ id: request.id, ...response } satisfies FrontAnswer));
  };
  const port = await new Promise<number>((done, fail) => {
    worker.once('error', fail);
    worker.on('message', function starting(message: { listening?: number; failed?: string }) {
      if (message.failed !== undefined) fail(new Error(`The HTTP front could not listen: ${message.failed}`));
      if (message.listening === undefined) return;
      worker.off('message', starting);
      worker.on('message', (m: FrontRequest | { closed: true }) => {
        if (!('closed' in m)) answer(m);
      });
      done(message.listening);
    });
  }).catch(async (error: unknown) => {
    await worker.terminate();
    throw error;
  });
  return {
    port,
    close: async () => {
      await new Promise<void>((done) => {
        worker.on('message', (m: { closed?: true }) => m.closed && done());
        worker.postMessage({ close: true });
      });
      await worker.terminate();
    },
  };
}
