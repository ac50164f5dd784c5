import { existsSync, readFileSync } from 'node:fs';
import { percentileOfSorted, type RequestSample, round } from './stats.ts';

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
    const ms = list.map((s) => s.ms).sort((a, b) => a - b);
    const outcomes: Record<string, number> = {};
    for (const s of list) {
      const key = s.code ? `${s.status} ${s.code}` : String(s.status);
      outcomes[key] = (outcomes[key] ?? 0) + 1;
    }
    out[name] = {
      requests: list.length,
      outcomes,
      p50Ms: round(percentileOfSorted(ms, 50)),
      p95Ms: round(percentileOfSorted(ms, 95)),
      p99Ms: round(percentileOfSorted(ms, 99)),
      maxMs: round(ms[ms.length - 1] ?? Number.NaN),
    };
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
