/** Small, dependency-free statistics for drills and the benchmark. */

/** Nearest-rank percentile (p in 0..100) of values sorted ascending; NaN when empty. */
export function percentileOfSorted(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] as number;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

export const round = (value: number, digits = 1): number => {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
};

/** One request as a drill or the benchmark saw it. */
export interface RequestSample {
  /** Epoch ms when the response (or the failure) arrived. */
  end: number;
  /** Latency in ms. */
  ms: number;
  /** Request name: checkout, checkout-retry, order-status, … */
  name: string;
  /** HTTP status, 0 for a transport failure. */
  status: number;
  /** Error code from the body (SOLD_OUT, …) or the transport error code. */
  code?: string;
}

export interface StockSample {
  t: number;
  available: number;
  /** Non-terminal orders, when the sampler can see them (local runs). */
  open?: number;
}

export interface TimelinePoint {
  /** Seconds since the drill started (bucket start). */
  t: number;
  accepted: number;
  refused: number;
  failed: number;
  other: number;
  p50?: number;
  p95?: number;
  p99?: number;
}

/**
 * Buckets checkout samples by time: requests/s split by outcome and latency percentiles per bucket.
 * `isCheckout` selects the requests that count (the buy path); others are ignored here.
 */
export function timeline(
  samples: readonly RequestSample[],
  start: number,
  bucketMs: number,
  isCheckout: (s: RequestSample) => boolean = (s) => s.name === 'checkout',
): TimelinePoint[] {
  const buckets = new Map<number, RequestSample[]>();
  for (const s of samples) {
    if (!isCheckout(s)) continue;
    const i = Math.max(0, Math.floor((s.end - start) / bucketMs));
    let list = buckets.get(i);
    if (!list) {
      list = [];
      buckets.set(i, list);
    }
    list.push(s);
  }
  const last = Math.max(-1, ...buckets.keys());
  const perSecond = 1000 / bucketMs;
  const points: TimelinePoint[] = [];
  for (let i = 0; i <= last; i++) {
    const list = buckets.get(i) ?? [];
    const latencies = list.map((s) => s.ms).sort((a, b) => a - b);
    const count = (f: (s: RequestSample) => boolean) => list.filter(f).length * perSecond;
    points.push({
      t: (i * bucketMs) / 1000,
      accepted: count((s) => s.status === 202 || s.status === 200),
      refused: count((s) => s.status === 409),
      failed: count((s) => s.status === 0 || s.status >= 500),
      other: count((s) => s.status !== 0 && s.status !== 409 && s.status < 500 && s.status >= 300),
      ...(latencies.length > 0
        ? {
            p50: percentileOfSorted(latencies, 50),
            p95: percentileOfSorted(latencies, 95),
            p99: percentileOfSorted(latencies, 99),
          }
        : {}),
    });
  }
  return points;
}
