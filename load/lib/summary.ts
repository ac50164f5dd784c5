/**
 * The one report format of the drills and the bench: latency as count / p50 / p95 / p99 / max in ms
 * (nearest rank, 0.1 ms), answers counted per "status code" key, targets as `{ target, met }`
 * printed `met` or `MISSED`, CPU as percent of one core per process.
 */
import { existsSync, readFileSync } from 'node:fs';
import { percentileOfSorted, type RequestSample, round } from './stats.ts';

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

/** Latency figures of a set of requests (NaN figures when there were none). */
export function latencySummary(ms: readonly number[]): LatencySummary {
  const sorted = [...ms].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50Ms: round(percentileOfSorted(sorted, 50)),
    p95Ms: round(percentileOfSorted(sorted, 95)),
    p99Ms: round(percentileOfSorted(sorted, 99)),
    maxMs: round(sorted[sorted.length - 1] ?? Number.NaN),
  };
}

/** A figure's target and whether this run met it. */
export interface TargetCheck {
  target: string;
  met: boolean;
}

export const check = (met: boolean, target: string): TargetCheck => ({ target, met });
export const met = (ok: boolean | undefined) => (ok ? 'met' : 'MISSED');

/** CPU shares (percent of one core per process) as `name N, …`. */
export const fmtShares = (shares: Record<string, number>) =>
  Object.entries(shares)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');

export interface EndpointSummary {
  requests: number;
  /** "202", "409 SOLD_OUT", "0 ECONNRESET", … → count */
  outcomes: Record<string, number>;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

export function summarizeByName(samples: readonly RequestSample[]): Record<string, EndpointSummary> {
  const byName = new Map<string, RequestSample[]>();
  for (const s of samples) {
    const list = byName.get(s.name) ?? [];
    list.push(s);
    byName.set(s.name, list);
  }
  const out: Record<string, EndpointSummary> = {};
  for (const [name, list] of byName) {
    const outcomes: Record<string, number> = {};
    for (const s of list) {
      const key = s.code ? `${s.status} ${s.code}` : String(s.status);
      outcomes[key] = (outcomes[key] ?? 0) + 1;
    }
    const { count, ...latency } = latencySummary(list.map((s) => s.ms));
    out[name] = { requests: count, outcomes, ...latency };
  }
  return out;
}

/** Reads a JSON-lines file of samples, skipping a torn last line. */
export function readSamples(file: string): RequestSample[] {
  if (!existsSync(file)) return [];
  const out: RequestSample[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as RequestSample);
    } catch {
      // a line cut short by a killed worker
    }
  }
  return out;
}

export function formatEndpoints(summary: Record<string, EndpointSummary>): string {
  const rows = Object.entries(summary).map(
    ([name, s]) =>
      `  ${name.padEnd(20)} ${String(s.requests).padStart(7)}  p50 ${fmtMs(s.p50Ms)}  p95 ${fmtMs(s.p95Ms)}  p99 ${fmtMs(s.p99Ms)}  max ${fmtMs(s.maxMs)}  ${Object.entries(
        s.outcomes,
      )
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k}: ${v}`)
        .join(', ')}`,
  );
  return [`  ${'request'.padEnd(20)} ${'count'.padStart(7)}`, ...rows].join('\n');
}

const fmtMs = (ms: number) => `${Number.isFinite(ms) ? ms.toFixed(0) : '-'}ms`.padStart(7);
