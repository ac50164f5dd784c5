import { readFileSync } from 'node:fs';
import { readRuntimeState } from '../state.ts';

/**
 * Before a start on `dataDir`: refuse when the state file names a runtime that is still alive, and
 * stop a DynamoDB Local that a killed runtime left behind on this data dir (it holds the files,
 * and a second one would run on the same data). Returns what it did, for the banner.
 */
export async function clearStaleRuntime(
  dataDir: string,
  dynamoDataDir: string | undefined,
): Promise<string[]> {
  const state = readRuntimeState(dataDir);
  if (!state) return [];
  if (state.pid !== process.pid && commandLine(state.pid)?.some((arg) => /node|tsx/.test(arg)))
    throw new Error(
      `A local runtime (pid ${state.pid}) is already running on ${dataDir}${state.url ? ` at ${state.url}` : ''}. Stop it (kill ${state.pid}) or use another data dir.`,
    );
  const pid = state.dynamodbPid;
  if (pid === undefined) return [];
  const args = commandLine(pid);
  const isDynamo = args?.some((arg) => arg.includes('DynamoDBLocal'));
  const onOurData = dynamoDataDir !== undefined && args?.[args.indexOf('-dbPath') + 1] === dynamoDataDir;
  if (!isDynamo || !onOurData) return [];
  process.kill(pid, 'SIGTERM');
  const forced = !(await exited(pid, 5_000));
  if (forced) {
    process.kill(pid, 'SIGKILL');
    await exited(pid, 5_000);
  }
  return [
    `Stopped a stale DynamoDB Local (pid ${pid}${forced ? ', SIGKILL' : ''}) left on ${dynamoDataDir} by a runtime that did not stop cleanly.`,
  ];
}

/** The process's argv from /proc, or undefined when it is gone (or not ours to read). */
function commandLine(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return undefined;
  }
}

async function exited(pid: number, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    if (commandLine(pid) === undefined || isZombie(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

function isZombie(pid: number): boolean {
  try {
    return / Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\)/, ''));
  } catch {
    return true;
  }
}
