import { errorBody } from '../../shared/http/error-body.ts';
import type { FrontRequest, FrontResponse } from './http-front.ts';

/** `/v1` → itself; `v1/`, `/v1/` → `/v1`; refuses anything but plain path segments. */
export function normalizeBasePath(basePath: string | undefined): string {
  if (!basePath || basePath === '/') return '';
  const trimmed = `/${basePath.replace(/^\/+|\/+$/g, '')}`;
  if (!/^(\/[A-Za-z0-9._~-]+)+$/.test(trimmed))
    throw new Error(`--base-path must be a path such as /v1, got "${basePath}"`);
  return trimmed;
}

/**
 * Serves everything under a prefix, as the execute-api URL serves a stage (`/v1/…`): the prefix is
 * taken off before the gateway sees the path; anything outside it is 404 in the contract's shape.
 */
export function underBasePath(
  basePath: string,
  handle: (req: FrontRequest) => Promise<FrontResponse>,
): (req: FrontRequest) => Promise<FrontResponse> {
  if (!basePath) return handle;
  return async (req) => {
    const rest = req.url.slice(basePath.length);
    if (!req.url.startsWith(basePath) || !(rest === '' || rest.startsWith('/') || rest.startsWith('?')))
      return {
        status: 404,
        headers: { 'Content-Type': 'application/json' },
        body: errorBody('NOT_FOUND', `Everything here is under ${basePath}/`),
      };
    return handle({ ...req, url: rest.startsWith('/') ? rest : `/${rest}` });
  };
}
