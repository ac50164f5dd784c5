import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * A file a function ships beside its bundle (`assets` in the wiring table): deployed, the CDK app
 * copies it into the bundle's directory, Lambda's task root; locally it is read where it lies in
 * the repository.
 */
export function readAsset(repoPath: string): string {
  const taskRoot = process.env.LAMBDA_TASK_ROOT;
  const file = taskRoot
    ? join(taskRoot, basename(repoPath))
    : fileURLToPath(new URL(`../../${repoPath}`, import.meta.url));
  return readFileSync(file, 'utf8');
}
