/**
 * Three small SVG chart kinds for the report, written as text: a grouped bar chart, a grouped
 * stacked bar chart, and a line chart (optionally log-scaled). No browser, no dependency; the SVG is static and
 * renders on GitHub and in any viewer. Transports and their baselines share a hue, the
 * baseline lighter (bars) or dashed (lines), so each pair reads together.
 */

export const TARGET_COLORS: Record<string, string> = {
  http: '#1f77b4',
  amqp: '#e6730b',
  tcp: '#2ca02c',
  udp: '#d62728',
  nats: '#17becf',
  mixed: '#9467bd',
  fastify: '#9ec5e8',
  amqplib: '#f7c08a',
  net: '#98df8a',
  dgram: '#ff9896',
  natsjs: '#9edae5',
};

export interface Series {
  name: string;
  color: string;
  dashed?: boolean;
}

export interface BarChart {
  title: string;
  yLabel: string;
  groups: string[];
  series: (Series & { values: (number | undefined)[] })[];
}

export interface LineChart {
  title: string;
  xLabel: string;
  yLabel: string;
  /** Category positions (evenly spaced) instead of a numeric x axis. */
  xCategories?: string[];
  xLog?: boolean;
  yLog?: boolean;
  series: (Series & { points: [number, number][] })[];
  /** A horizontal reference line, e.g. the p99 limit. */
  limit?: { value: number; label: string };
}

const W = 760;
const H = 380;
const M = { left: 72, right: 150, top: 40, bottom: 52 };
const PLOT_W = W - M.left - M.right;
const PLOT_H = H - M.top - M.bottom;

export function barChart(chart: BarChart): string {
  const max = Math.max(1, ...chart.series.flatMap((s) => s.values.filter((v): v is number => v !== undefined)));
  const y = linearScale(0, niceCeil(max), PLOT_H);
  const groupW = PLOT_W / chart.groups.length;
  const barW = (groupW * 0.8) / chart.series.length;
  const bars = chart.groups.flatMap((_, g) =>
    chart.series.map((s, i) => {
      const v = s.values[g];
      if (v === undefined) return '';
      const x = M.left + g * groupW + groupW * 0.1 + i * barW;
      const h = y.at(v);
      return `<rect x="${f(x)}" y="${f(M.top + PLOT_H - h)}" width="${f(barW * 0.92)}" height="${f(h)}" fill="${s.color}"><title>${esc(`${s.name} ${chart.groups[g]}: ${Math.round(v)}`)}</title></rect>`;
    }),
  );
  const xLabels = chart.groups.map(
    (g, i) =>
      `<text x="${f(M.left + (i + 0.5) * groupW)}" y="${H - M.bottom + 18}" text-anchor="middle">${esc(g)}</text>`,
  );
  return frame(chart.title, chart.yLabel, '', yTicks(y), [...bars, ...xLabels], legend(chart.series));
}

export interface StackedBarChart {
  title: string;
  yLabel: string;
  /** Groups along the x axis, e.g. request kinds. */
  groups: string[];
  /** Bars within each group, e.g. two ways of driving the load. */
  bars: string[];
  /** What each bar is made of, bottom first. */
  segments: Series[];
  /** values[group][bar][segment]; undefined: no bar. */
  values: (number[] | undefined)[][];
}

export function stackedBarChart(chart: StackedBarChart): string {
  const totals = chart.values.flatMap((group) => group.map((bar) => (bar ?? []).reduce((a, b) => a + b, 0)));
  const y = linearScale(0, niceCeil(Math.max(1e-9, ...totals)), PLOT_H);
  const groupW = PLOT_W / chart.groups.length;
  const barW = (groupW * 0.8) / chart.bars.length;
  const body: string[] = [];
  chart.groups.forEach((group, g) => {
    chart.bars.forEach((bar, b) => {
      const parts = chart.values[g]?.[b];
      if (parts === undefined) return;
      const x = M.left + g * groupW + groupW * 0.1 + b * barW;
      let base = 0;
      parts.forEach((v, i) => {
        const h = y.at(v);
        const segment = chart.segments[i]!;
        body.push(
          `<rect x="${f(x)}" y="${f(M.top + PLOT_H - base - h)}" width="${f(barW * 0.9)}" height="${f(h)}" fill="${segment.color}"><title>${esc(`${group}, ${bar}, ${segment.name}: ${+v.toPrecision(3)}`)}</title></rect>`,
        );
        base += h;
      });
      body.push(
        `<text x="${f(x + barW * 0.45)}" y="${f(M.top + PLOT_H - base - 4)}" text-anchor="middle" font-size="10">${esc(bar)}</text>`,
      );
    });
    body.push(
      `<text x="${f(M.left + (g + 0.5) * groupW)}" y="${H - M.bottom + 18}" text-anchor="middle">${esc(group)}</text>`,
    );
  });
  return frame(chart.title, chart.yLabel, '', yTicks(y), body, legend(chart.segments));
}

export function lineChart(chart: LineChart): string {
  const xs = chart.series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = chart.series.flatMap((s) => s.points.map((p) => p[1])).concat(chart.limit ? [chart.limit.value] : []);
  const x = chart.xCategories
    ? linearScale(-0.5, chart.xCategories.length - 0.5, PLOT_W)
    : chart.xLog
      ? logScale(Math.min(...xs), Math.max(...xs), PLOT_W)
      : linearScale(0, niceCeil(Math.max(1, ...xs)), PLOT_W);
  const y = chart.yLog
    ? logScale(Math.min(...ys.filter((v) => v > 0)), Math.max(...ys), PLOT_H)
    : linearScale(0, niceCeil(Math.max(1e-9, ...ys)), PLOT_H);
  const px = (v: number): number => M.left + x.at(v);
  const py = (v: number): number => M.top + PLOT_H - y.at(v);
  const lines = chart.series.map((s) => {
    const points = s.points.filter(([, v]) => !chart.yLog || v > 0);
    const d = points.map(([a, b], i) => `${i === 0 ? 'M' : 'L'}${f(px(a))},${f(py(b))}`).join(' ');
    const dots = points.map(([a, b]) => `<circle cx="${f(px(a))}" cy="${f(py(b))}" r="3" fill="${s.color}" />`);
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    return `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${dash} />${dots.join('')}`;
  });
  const xTickMarks = chart.xCategories
    ? chart.xCategories.map((c, i) => ({ at: x.at(i), label: c }))
    : x.ticks().map((t) => ({ at: x.at(t), label: compact(t) }));
  const xAxis = xTickMarks.map(
    (t) => `<text x="${f(M.left + t.at)}" y="${H - M.bottom + 18}" text-anchor="middle">${esc(t.label)}</text>`,
  );
  const limit = chart.limit
    ? `<line x1="${M.left}" x2="${M.left + PLOT_W}" y1="${f(py(chart.limit.value))}" y2="${f(py(chart.limit.value))}" stroke="#555" stroke-dasharray="2 3" /><text x="${M.left + PLOT_W - 4}" y="${f(py(chart.limit.value) - 5)}" text-anchor="end" fill="#555">${esc(chart.limit.label)}</text>`
    : '';
  return frame(chart.title, chart.yLabel, chart.xLabel, yTicks(y), [...lines, ...xAxis, limit], legend(chart.series));
}

interface Scale {
  at(v: number): number;
  ticks(): number[];
}

function linearScale(min: number, max: number, length: number): Scale {
  return {
    at: (v) => ((v - min) / (max - min || 1)) * length,
    ticks: () => {
      const step = niceCeil((max - min) / 5);
      const ticks: number[] = [];
      for (let t = Math.ceil(min / step) * step; t <= max + 1e-9; t += step) ticks.push(t);
      return ticks;
    },
  };
}

function logScale(min: number, max: number, length: number): Scale {
  const lo = Math.log10(min > 0 ? min : 1e-3);
  const hi = Math.max(lo + 1e-9, Math.log10(max));
  const from = Math.floor(lo);
  const to = Math.ceil(hi);
  return {
    at: (v) => ((Math.log10(v) - from) / (to - from || 1)) * length,
    ticks: () => {
      const ticks: number[] = [];
      for (let e = from; e <= to; e++) for (const m of to - from <= 2 ? [1, 2, 5] : [1]) ticks.push(m * 10 ** e);
      return ticks.filter((t) => t >= 10 ** from && t <= 10 ** to);
    },
  };
}

/** 1, 2 or 5 times a power of ten, at or above v. */
function niceCeil(v: number): number {
  const p = 10 ** Math.floor(Math.log10(v));
  return ([1, 2, 5, 10].find((m) => m * p >= v) ?? 10) * p;
}

function yTicks(y: Scale): string[] {
  return y.ticks().map((t) => {
    const at = f(M.top + PLOT_H - y.at(t));
    const grid = `<line x1="${M.left}" x2="${M.left + PLOT_W}" y1="${at}" y2="${at}" stroke="#e5e5e5" />`;
    return `${grid}<text x="${M.left - 8}" y="${at}" dy="4" text-anchor="end">${esc(compact(t))}</text>`;
  });
}

function legend(series: Series[]): string[] {
  return series.map((s, i) => {
    const top = M.top + i * 20;
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    return `<line x1="${W - M.right + 16}" x2="${W - M.right + 40}" y1="${top + 6}" y2="${top + 6}" stroke="${s.color}" stroke-width="8"${dash} /><text x="${W - M.right + 48}" y="${top + 10}">${esc(s.name)}</text>`;
  });
}

function frame(title: string, yLabel: string, xLabel: string, grid: string[], body: string[], keys: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff" />`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc(title)}</text>`,
    ...grid,
    `<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${M.top + PLOT_H}" stroke="#333" />`,
    `<line x1="${M.left}" x2="${M.left + PLOT_W}" y1="${M.top + PLOT_H}" y2="${M.top + PLOT_H}" stroke="#333" />`,
    `<text transform="translate(16 ${M.top + PLOT_H / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`,
    `<text x="${M.left + PLOT_W / 2}" y="${H - 10}" text-anchor="middle">${esc(xLabel)}</text>`,
    ...body,
    ...keys,
    '</svg>',
    '',
  ].join('\n');
}

/** 1500 → 1.5k, 0.05 → 0.05. */
function compact(v: number): string {
  if (v >= 1_000_000) return `${+(v / 1_000_000).toPrecision(3)}M`;
  if (v >= 1_000) return `${+(v / 1_000).toPrecision(3)}k`;
  return `${+v.toPrecision(3)}`;
}

function f(n: number): string {
  return n.toFixed(1);
}

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
