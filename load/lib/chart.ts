/**
 * A drill's chart as one self-contained SVG (no scripts, fonts or external files), so it renders in
 * a browser, on GitHub and inside the HTML report: checkout throughput by outcome, checkout latency
 * percentiles, and remaining stock with open (non-terminal) orders, on one time axis.
 */
import type { StockSample, TimelinePoint } from './stats.ts';

export interface ChartInput {
  title: string;
  /** One or two lines under the title. */
  subtitle?: string | string[];
  /** Epoch ms of t = 0. */
  start: number;
  points: TimelinePoint[];
  bucketSeconds: number;
  stock: StockSample[];
  totalStock: number;
  /** Vertical markers, epoch ms. */
  markers?: { at: number; label: string }[];
  /** Horizontal target line on the latency panel. */
  latencyTargetMs?: number;
}

const W = 960;
const PAD_L = 64;
const PAD_R = 150;
const PANEL_H = 170;
const GAP = 46;
const TOP = 96;
const COLORS = {
  accepted: '#2e9d57',
  refused: '#7b8794',
  failed: '#d64545',
  other: '#e8a33d',
  p50: '#3b6fd8',
  p95: '#9b59b6',
  p99: '#d64545',
  stock: '#2e9d57',
  open: '#e8a33d',
  grid: '#e3e6ea',
  axis: '#5f6b7a',
  text: '#1f2933',
};

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (n: number) =>
  n >= 10_000 ? `${Math.round(n / 1000)}k` : n >= 1000 ? `${(n / 1000).toFixed(1)}k` : `${Math.round(n)}`;

/** 1, 2 or 5 × 10^k steps giving about `count` ticks up to `max`. */
function ticks(max: number, count = 4): number[] {
  if (!(max > 0)) return [0];
  const raw = max / count;
  const base = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * base).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = 0; v <= max + step * 0.001; v += step) out.push(Number(v.toFixed(6)));
  return out;
}

interface Series {
  name: string;
  color: string;
  values: [number, number][];
  dash?: string;
  area?: boolean;
}

function panel(
  y0: number,
  label: string,
  unit: string,
  xMax: number,
  series: Series[],
  extras: { hLine?: { y: number; label: string }; markers?: { x: number; label: string }[] } = {},
): string {
  const plotW = W - PAD_L - PAD_R;
  const values = series.flatMap((s) => s.values.map(([, v]) => v)).filter(Number.isFinite);
  const yMaxRaw = Math.max(1, ...values, extras.hLine ? extras.hLine.y * 1.15 : 0);
  const yTicks = ticks(yMaxRaw);
  const yMax = Math.max(yMaxRaw, yTicks[yTicks.length - 1] ?? yMaxRaw);
  const sx = (x: number) => PAD_L + (xMax > 0 ? (x / xMax) * plotW : 0);
  const sy = (v: number) => y0 + PANEL_H - (v / yMax) * PANEL_H;
  const parts: string[] = [];
  parts.push(
    `<text x="${PAD_L}" y="${y0 - 10}" font-size="13" font-weight="600" fill="${COLORS.text}">${esc(label)}</text>`,
  );
  for (const t of yTicks) {
    parts.push(
      `<line x1="${PAD_L}" x2="${PAD_L + plotW}" y1="${sy(t).toFixed(1)}" y2="${sy(t).toFixed(1)}" stroke="${COLORS.grid}"/>`,
      `<text x="${PAD_L - 6}" y="${(sy(t) + 4).toFixed(1)}" font-size="11" text-anchor="end" fill="${COLORS.axis}">${fmt(t)}</text>`,
    );
  }
  parts.push(
    `<text x="${14}" y="${y0 + PANEL_H / 2}" font-size="11" fill="${COLORS.axis}" transform="rotate(-90 14 ${y0 + PANEL_H / 2})" text-anchor="middle">${esc(unit)}</text>`,
  );
  for (const t of ticks(xMax, 10)) {
    parts.push(
      `<line x1="${sx(t).toFixed(1)}" x2="${sx(t).toFixed(1)}" y1="${y0}" y2="${y0 + PANEL_H}" stroke="${COLORS.grid}"/>`,
      `<text x="${sx(t).toFixed(1)}" y="${y0 + PANEL_H + 14}" font-size="11" text-anchor="middle" fill="${COLORS.axis}">${fmt(t)}s</text>`,
    );
  }
  for (const s of series) {
    const pts = s.values.filter(([, v]) => Number.isFinite(v));
    if (pts.length === 0) continue;
    const d = pts
      .map(([x, v], i) => `${i === 0 ? 'M' : 'L'}${sx(x).toFixed(1)},${sy(v).toFixed(1)}`)
      .join('');
    if (s.area) {
      const first = pts[0] as [number, number];
      const last = pts[pts.length - 1] as [number, number];
      parts.push(
        `<path d="${d}L${sx(last[0]).toFixed(1)},${sy(0).toFixed(1)}L${sx(first[0]).toFixed(1)},${sy(0).toFixed(1)}Z" fill="${s.color}" fill-opacity="0.18" stroke="none"/>`,
      );
    }
    parts.push(
      `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''} stroke-linejoin="round"/>`,
    );
  }
  if (extras.hLine) {
    const y = sy(extras.hLine.y).toFixed(1);
    parts.push(
      `<line x1="${PAD_L}" x2="${PAD_L + plotW}" y1="${y}" y2="${y}" stroke="${COLORS.p99}" stroke-dasharray="6 4" stroke-width="1.2"/>`,
      `<text x="${PAD_L + plotW - 4}" y="${Number(y) - 5}" font-size="11" text-anchor="end" fill="${COLORS.p99}">${esc(extras.hLine.label)}</text>`,
    );
  }
  (extras.markers ?? []).forEach((m, i) => {
    const x = sx(m.x);
    // Labels near the right edge go on the left of their line; stacked so two close markers stay legible.
    const right = x > PAD_L + plotW * 0.8;
    parts.push(
      `<line x1="${x.toFixed(1)}" x2="${x.toFixed(1)}" y1="${y0}" y2="${y0 + PANEL_H}" stroke="${COLORS.axis}" stroke-dasharray="3 3"/>`,
      `<text x="${(right ? x - 4 : x + 4).toFixed(1)}" y="${y0 + 12 + i * 12}" font-size="10" text-anchor="${right ? 'end' : 'start'}" fill="${COLORS.axis}">${esc(m.label)}</text>`,
    );
  });
  parts.push(
    `<rect x="${PAD_L}" y="${y0}" width="${plotW}" height="${PANEL_H}" fill="none" stroke="${COLORS.axis}" stroke-width="0.8"/>`,
  );
  series.forEach((s, i) => {
    const ly = y0 + 8 + i * 18;
    const lx = W - PAD_R + 14;
    parts.push(
      `<line x1="${lx}" x2="${lx + 22}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="3"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`,
      `<text x="${lx + 28}" y="${ly + 4}" font-size="12" fill="${COLORS.text}">${esc(s.name)}</text>`,
    );
  });
  return parts.join('\n');
}

export function renderChartSvg(input: ChartInput): string {
  const { points, bucketSeconds, start } = input;
  const mid = (p: TimelinePoint) => p.t + bucketSeconds / 2;
  const stockT = input.stock.map((s) => (s.t - start) / 1000);
  const markers = (input.markers ?? []).map((m) => ({ x: (m.at - start) / 1000, label: m.label }));
  const xMax = Math.max(
    bucketSeconds,
    ...points.map((p) => p.t + bucketSeconds),
    ...stockT,
    ...markers.map((m) => m.x),
  );
  const inRange = <T extends { t: number }>(list: T[]) => list.filter((s) => s.t >= start - 1);
  const stock = inRange(input.stock);
  const y1 = TOP;
  const y2 = y1 + PANEL_H + GAP;
  const y3 = y2 + PANEL_H + GAP;
  const H = y3 + PANEL_H + 40;
  const throughput = panel(
    y1,
    'Checkout throughput by outcome',
    'requests / s',
    xMax,
    [
      {
        name: 'accepted (202)',
        color: COLORS.accepted,
        values: points.map((p) => [mid(p), p.accepted]),
        area: true,
      },
      { name: 'refused (409)', color: COLORS.refused, values: points.map((p) => [mid(p), p.refused]) },
      { name: 'other 4xx', color: COLORS.other, values: points.map((p) => [mid(p), p.other]) },
      { name: 'errors (5xx/net)', color: COLORS.failed, values: points.map((p) => [mid(p), p.failed]) },
    ],
    { markers },
  );
  const latency = panel(
    y2,
    'Checkout latency percentiles (per interval)',
    'ms',
    xMax,
    [
      { name: 'p50', color: COLORS.p50, values: points.map((p) => [mid(p), p.p50 ?? Number.NaN]) },
      { name: 'p95', color: COLORS.p95, values: points.map((p) => [mid(p), p.p95 ?? Number.NaN]) },
      { name: 'p99', color: COLORS.p99, values: points.map((p) => [mid(p), p.p99 ?? Number.NaN]) },
    ],
    {
      markers,
      ...(input.latencyTargetMs
        ? { hLine: { y: input.latencyTargetMs, label: `p99 target ${input.latencyTargetMs} ms` } }
        : {}),
    },
  );
  const stockSeries: Series[] = [
    {
      name: 'units left',
      color: COLORS.stock,
      values: stock.map((s) => [(s.t - start) / 1000, s.available]),
      area: true,
    },
  ];
  if (stock.some((s) => s.open !== undefined)) {
    stockSeries.push({
      name: 'open orders',
      color: COLORS.open,
      values: stock.filter((s) => s.open !== undefined).map((s) => [(s.t - start) / 1000, s.open as number]),
      dash: '5 3',
    });
  }
  const remaining = panel(
    y3,
    `Remaining stock (of ${input.totalStock}) and open orders`,
    'units / orders',
    xMax,
    stockSeries,
    {
      markers,
    },
  );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" role="img">`,
    `<title>${esc(input.title)}</title>`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${PAD_L}" y="30" font-size="18" font-weight="700" fill="${COLORS.text}">${esc(input.title)}</text>`,
    ...[input.subtitle ?? []]
      .flat()
      .slice(0, 2)
      .map(
        (line, i) =>
          `<text x="${PAD_L}" y="${52 + i * 17}" font-size="12" fill="${COLORS.axis}">${esc(line)}</text>`,
      ),
    throughput,
    latency,
    remaining,
    `<text x="${PAD_L}" y="${H - 10}" font-size="11" fill="${COLORS.axis}">time since the first request (s); ${bucketSeconds * 1000} ms intervals</text>`,
    '</svg>',
  ].join('\n');
}

export function renderReportHtml(
  title: string,
  svg: string,
  sections: { heading: string; body: string }[],
): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>body{font-family:Helvetica,Arial,sans-serif;margin:24px;color:#1f2933;max-width:1000px}
pre{background:#f5f7fa;padding:12px;border-radius:6px;overflow:auto;font-size:12px}
h1{font-size:20px}h2{font-size:15px;margin-top:24px}</style></head>
<body><h1>${esc(title)}</h1>
${svg}
${sections.map((s) => `<h2>${esc(s.heading)}</h2>\n<pre>${esc(s.body)}</pre>`).join('\n')}
</body></html>
`;
}
