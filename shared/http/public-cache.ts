/**
 * Headers of a public document (the sale, the room): the same bytes for everyone, so any shared
 * cache may keep them for `maxAgeSeconds` (PUBLIC_MAX_AGE_SECONDS). The edge in front (CloudFront
 * in AWS, local/runtime/edge-cache.ts locally) answers repeats without calling a function.
 */
export function publicCacheHeaders(maxAgeSeconds: number): Record<string, string> {
  return { 'Cache-Control': `public, max-age=${maxAgeSeconds}` };
}
