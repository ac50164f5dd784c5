/**
 * Where a process spends its CPU during one measured window: a V8 CPU profile of this process
 * (node:inspector), self time grouped by owner — an npm package, this repository's folders, Node's
 * own modules, the garbage collector, native code — and divided by the window's successful checkouts.
 * Used by the overhead part to show what the stack adds per checkout.
 */
import { Session } from 'node:inspector/promises';
import { round } from '../load/lib/stats.ts';

interface ProfileNode {
  id: number;
  callFrame: { url: string; functionName: string };
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function ownerOf({ url, functionName }: ProfileNode['callFrame']): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native: builtins, JSON, crypto)';
  if (url.startsWith('node:')) return 'node (http, streams, timers…)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1] as string;
  const own = /\/(local|shared|functions|bench|load)\//.exec(url);
  return own ? `${own[1]}/ (this repository)` : url;
}

/** Self time in ms per owner. */
function selfTimeByOwner(profile: CpuProfile): Map<string, number> {
  const owner = new Map(profile.nodes.map((n) => [n.id, ownerOf(n.callFrame)]));
  const totals = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const key = owner.get(id) ?? '?';
    totals.set(key, (totals.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  return totals;
}

export interface WindowProfile {
  checkouts: number;
  /** µs of this process's CPU per successful checkout, by owner, largest first; idle excluded. */
  usPerCheckout: Record<string, number>;
  busyUsPerCheckout: number;
}

/** Runs `window` (which returns its successful checkouts) under the V8 profiler. */
export async function profileWindow(window: () => Promise<number>): Promise<WindowProfile> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 250 });
    await session.post('Profiler.start');
    const checkouts = await window();
    const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: CpuProfile };
    const per = [...selfTimeByOwner(profile)]
      .filter(([k]) => k !== '(idle)')
      .map(([k, ms]) => [k, round((ms / Math.max(1, checkouts)) * 1000, 0)] as const)
      .sort((a, b) => b[1] - a[1]);
    return {
      checkouts,
      usPerCheckout: Object.fromEntries(per),
      busyUsPerCheckout: per.reduce((a, [, us]) => a + us, 0),
    };
  } finally {
    session.disconnect();
  }
}
