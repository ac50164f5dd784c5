/**
 * `base` + `path`, keeping a base path: a deployed API's URL ends in its stage (`…/v1/`), which
 * `new URL('/sales', base)` would drop.
 */
export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}
