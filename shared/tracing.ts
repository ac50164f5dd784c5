import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';

/**
 * Powertools Tracer, in its own module so a bundle that does not import this file carries no
 * X-Ray SDK (~120 KB minified, ~10 ms of cold-start import on these machines). Functions still
 * get Lambda's own active-tracing segment either way.
 */
export const tracer = new Tracer();

export const traced = () => captureLambdaHandler(tracer);
