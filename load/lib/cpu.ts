/**
 * CPU use of this process, its DynamoDB Local (Java) child and any other child, from /proc (Linux):
 * evidence for "what limits the run" on a small machine. Elsewhere it reports nothing.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';

const TICK_MS = 10; // USER_HZ is 100 on Linux

function ticksOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return undefined;
  }
}

function childrenOf(pid: number): { pid: number; name: string }[] {
  if (!existsSync('/proc')) return [];
  const out: { pid: number; name: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push({ pid: Number(entry), name });
    } catch {
      // process went away
    }
  }
  return out;
}

/** Busy CPU time of the whole machine (all cores) and the part spent in interrupts, ms, from /proc/stat. */
function machineBusyMs(): { busy: number; irq: number; steal: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const [, ...fields] = line.trim().split(/\s+/);
    const n = fields.map(Number);
    const total = n.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = (n[3] ?? 0) + (n[4] ?? 0);
    // irq + softirq: mostly the kernel's loopback network stack under an HTTP drill.
    const irq = (n[5] ?? 0) + (n[6] ?? 0);
    // steal: time the hypervisor gave this VM's cores to someone else.
    return { busy: (total - idle) * TICK_MS, irq: irq * TICK_MS, steal: (n[7] ?? 0) * TICK_MS };
  } catch {
    return undefined;
  }
}

export type CpuShares = Record<string, number>;

/**
 * Watches named processes — this one, its Java child (DynamoDB Local), any added — and the rest of
 * the machine, sampling every `everyMs` so processes that exit early are still counted.
 */
export function cpuMeter(
  extra: Record<string, number | undefined> = {},
  everyMs = 1000,
  selfName = 'runtime',
) {
  const java = childrenOf(process.pid).find((c) => c.name === 'java');
  const pids: Record<string, number> = { [selfName]: process.pid };
  if (java) pids.dynamodbLocal = java.pid;
  for (const [name, pid] of Object.entries(extra)) if (pid) pids[name] = pid;
  const totals: Record<string, number> = {};
  let sinceMark: Record<string, number> = {};
  let markedAt = performance.now();
  const series: { t: number; shares: CpuShares }[] = [];
  const started = performance.now();
  const read = () => {
    const ticks: Record<string, number | undefined> = Object.fromEntries(
      Object.entries(pids).map(([name, pid]) => [name, ticksOf(pid)]),
    );
    return { t: performance.now(), ticks, machine: machineBusyMs() };
  };
  let last = read();
  const sample = () => {
    const now = read();
    const dt = now.t - last.t;
    if (dt <= 0) return;
    const shares: CpuShares = {};
    let mine = 0;
    for (const [name, t] of Object.entries(now.ticks)) {
      const before = last.ticks[name];
      // A process that has exited (or not started) contributes nothing for this interval.
      const used = t !== undefined && before !== undefined ? Math.max(0, t - before) : 0;
      mine += used;
      totals[name] = (totals[name] ?? 0) + used;
      sinceMark[name] = (sinceMark[name] ?? 0) + used;
      shares[name] = Math.round((used / dt) * 100);
    }
    if (now.machine !== undefined && last.machine !== undefined) {
      // The kernel's interrupt work (loopback networking), then everything else the machine did:
      // helper processes (tsx's esbuild, npm) and any other user's work, all on the same cores.
      const irq = Math.max(0, now.machine.irq - last.machine.irq);
      const steal = Math.max(0, now.machine.steal - last.machine.steal);
      const rest = Math.max(0, now.machine.busy - last.machine.busy - mine - irq - steal);
      for (const [name, used] of [
        ['kernelIrq', irq],
        ['vmSteal', steal],
        ['otherProcesses', rest],
      ] as const) {
        totals[name] = (totals[name] ?? 0) + used;
        sinceMark[name] = (sinceMark[name] ?? 0) + used;
        shares[name] = Math.round((used / dt) * 100);
      }
    }
    series.push({ t: Date.now(), shares });
    last = now;
  };
  const timer = setInterval(sample, everyMs);
  timer.unref();
  return {
    /** Watch one more process from now on. */
    add(name: string, pid: number | undefined): void {
      if (!pid) return;
      pids[name] = pid;
      last.ticks[name] = ticksOf(pid);
    },
    /** Every interval so far: { t (epoch ms at its end), shares }. */
    samples(): { t: number; shares: CpuShares }[] {
      return series;
    },
    /** Average percent of one core per process since the previous mark (or the start). */
    mark(): CpuShares {
      sample();
      const elapsed = performance.now() - markedAt;
      const shares = Object.fromEntries(
        Object.entries(sinceMark).map(([name, ms]) => [
          name,
          elapsed > 0 ? Math.round((ms / elapsed) * 100) : 0,
        ]),
      );
      sinceMark = {};
      markedAt = performance.now();
      return shares;
    },
    /** Stops sampling; average percent of one core per process over the whole window (100 = one core). */
    stop(): { average: CpuShares; series: { t: number; shares: CpuShares }[] } {
      clearInterval(timer);
      sample();
      const elapsed = performance.now() - started;
      const average = Object.fromEntries(
        Object.entries(totals).map(([name, ms]) => [
          name,
          elapsed > 0 ? Math.round((ms / elapsed) * 100) : 0,
        ]),
      );
      return { average, series };
    },
  };
}

/** Mean of the per-interval shares whose sample time falls in [from, to] (epoch ms). */
export function averageBetween(
  series: { t: number; shares: CpuShares }[],
  from: number,
  to: number,
): CpuShares {
  const inside = series.filter((x) => x.t >= from && x.t <= to);
  const sums: Record<string, number> = {};
  for (const x of inside) for (const [k, v] of Object.entries(x.shares)) sums[k] = (sums[k] ?? 0) + v;
  return Object.fromEntries(
    Object.entries(sums).map(([k, v]) => [k, Math.round(v / Math.max(1, inside.length))]),
  );
}
