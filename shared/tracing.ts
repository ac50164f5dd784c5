import type { MiddlewareObj } from '@middy/core';

/**
 * Powertools Tracer, in its own module so a bundle that does not import this file carries no
 * X-Ray SDK (~120 KB minified, ~10 ms of cold-start import on these machines). Functions still
 * get Lambda's own active-tracing segment either way.
 *
 * The SDK is loaded only when tracing is on (Powertools' own switch, POWERTOOLS_TRACE_ENABLED):
 * loading it turns on cls-hooked's async hooks for the whole process, and from then on every
 * promise costs about a microsecond more whether or not a segment is ever sent (measured here: a
 * million awaits, 61 ms before the import, 1,007 ms after). The local runtime, where every
 * function shares one process and tracing is off, would pay that on every request.
 */
const tracingEnabled = (process.env.POWERTOOLS_TRACE_ENABLED ?? 'true').toLowerCase() !== 'false';

const captureLambdaHandler: MiddlewareObj | undefined = tracingEnabled
  ? await (async () => {
      const [{ Tracer }, middleware] = await Promise.all([
        import('@aws-lambda-powertools/tracer'),
        import('@aws-lambda-powertools/tracer/middleware'),
      ]);
      return middleware.captureLambdaHandler(new Tracer());
    })()
  : undefined;

/** The tracing middleware, or none while tracing is off (for middy's `use`, which takes a list). */
export const traced = (): MiddlewareObj[] => (captureLambdaHandler ? [captureLambdaHandler] : []);
