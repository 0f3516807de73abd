import { escapeXml } from './chart.ts';
import { format, median, type Metric, type Sample } from './measure.ts';
import type { Sweep, SweepPlot } from './sweeps.ts';

const WIDTH = 720;
const PANEL_HEIGHT = 300;
const TITLE_HEIGHT = 34;
const NOTE_HEIGHT = 22;
const MARGIN = { left: 90, right: 40, top: 46, bottom: 58 };

/** One level of a sweep: its label, and the median, lowest and highest value over the rounds. */
interface Point {
  level: number;
  label: string;
  median: number;
  min: number;
  max: number;
}

/**
 * A sweep's chart: one panel per plot, the level on a log scale, a point at each level's median
 * and a whisker from its lowest to its highest round, so that a flat line within the whiskers
 * reads as "the cost does not grow". Hand-written like chart.ts, for the same reason.
 */
export function renderSweepChart(sweep: Sweep, samples: readonly Sample[]): string {
  const panels = sweep.plots
    .map((plot) => ({ plot, points: points(plot, samples) }))
    .filter(({ points }) => points.length > 0);
  const height = TITLE_HEIGHT + panels.length * PANEL_HEIGHT + NOTE_HEIGHT;
  const rounds = Math.max(...samples.map((s) => s.round)) + 1;
  const parts = [
    `<text x="${WIDTH / 2}" y="22" text-anchor="middle" class="title">${escapeXml(sweep.title)}</text>`,
    ...panels.map(({ plot, points }, i) =>
      renderPanel(sweep, plot, points, metricOf(plot, samples), TITLE_HEIGHT + i * PANEL_HEIGHT),
    ),
    `<text x="${WIDTH - 8}" y="${height - 8}" text-anchor="end" class="note">median of ${rounds} round(s); whiskers: lowest to highest round</text>`,
  ];
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">
<style>.title{font-weight:bold;font-size:14px}.panel{font-weight:bold}.axis{stroke:#333}.grid{stroke:#e3e6ea}.line{fill:none;stroke:#2f6fb0;stroke-width:2}.whisker{stroke:#2f6fb0;stroke-width:1.5}.point{fill:#2f6fb0}.note{fill:#666;font-size:11px}.value{paint-order:stroke;stroke:#fff;stroke-width:4px}</style>
<rect width="100%" height="100%" fill="#fff"/>
${parts.join('\n')}
</svg>
`;
}

function points(plot: SweepPlot, samples: readonly Sample[]): Point[] {
  const own = samples.filter((s) => s.scenario === plot.scenario && s.level !== undefined);
  const levels = [...new Set(own.map((s) => s.level!))].sort((a, b) => a - b);
  return levels.map((level) => {
    const at = own.filter((s) => s.level === level);
    const values = at.map((s) => s.value);
    // Contenders are named "<dimension>: <level>"; the axis shows the level.
    const label = at[0]!.contender.replace(/^[^:]*:\s*/, '');
    return {
      level,
      label,
      median: median(values),
      min: Math.min(...values),
      max: Math.max(...values),
    };
  });
}

function metricOf(plot: SweepPlot, samples: readonly Sample[]): Metric {
  return samples.find((s) => s.scenario === plot.scenario)!.metric;
}

function renderPanel(
  sweep: Sweep,
  plot: SweepPlot,
  points: readonly Point[],
  metric: Metric,
  top: number,
): string {
  const left = MARGIN.left;
  const right = WIDTH - MARGIN.right;
  const plotTop = top + MARGIN.top;
  const bottom = top + PANEL_HEIGHT - MARGIN.bottom;

  // x: log10 of the level, padded so the first and last whiskers stay off the axes.
  const logs = points.map((p) => Math.log10(p.level));
  const pad = logs.length > 1 ? (logs.at(-1)! - logs[0]!) * 0.1 : 1;
  const [lo, hi] = [logs[0]! - pad, logs.at(-1)! + pad];
  const x = (level: number) => left + ((Math.log10(level) - lo) / (hi - lo)) * (right - left);

  // y: linear from 0, so that ratios between levels read as they are.
  const step = niceStep(Math.max(...points.map((p) => p.max)) / 4);
  const yMax = step * Math.max(1, Math.ceil((Math.max(...points.map((p) => p.max)) * 1.08) / step));
  const y = (value: number) => bottom - (value / yMax) * (bottom - plotTop);

  const parts: string[] = [
    `<text x="${left}" y="${top + 24}" class="panel">${escapeXml(plot.scenario)}</text>`,
  ];
  for (let i = 0; i * step <= yMax + step / 2; i++) {
    const tick = i * step;
    const ty = y(tick).toFixed(1);
    parts.push(
      `<line x1="${left}" y1="${ty}" x2="${right}" y2="${ty}" class="grid"/>`,
      `<text x="${left - 8}" y="${ty}" dy="4" text-anchor="end">${tickLabel(tick, step)}</text>`,
    );
  }
  parts.push(
    `<line x1="${left}" y1="${bottom}" x2="${right}" y2="${bottom}" class="axis"/>`,
    `<line x1="${left}" y1="${plotTop}" x2="${left}" y2="${bottom}" class="axis"/>`,
    `<text transform="translate(${left - 62} ${(plotTop + bottom) / 2}) rotate(-90)" text-anchor="middle">${escapeXml(plot.yLabel)}</text>`,
    `<text x="${(left + right) / 2}" y="${bottom + 42}" text-anchor="middle">${escapeXml(sweep.xLabel)} (log scale)</text>`,
    `<polyline points="${points.map((p) => `${x(p.level).toFixed(1)},${y(p.median).toFixed(1)}`).join(' ')}" class="line"/>`,
  );
  for (const p of points) {
    const px = x(p.level).toFixed(1);
    const [cap1, cap2] = [(x(p.level) - 5).toFixed(1), (x(p.level) + 5).toFixed(1)];
    const [yMin, yHigh] = [y(p.min).toFixed(1), y(p.max).toFixed(1)];
    parts.push(
      `<line x1="${px}" y1="${bottom}" x2="${px}" y2="${bottom + 5}" class="axis"/>`,
      `<text x="${px}" y="${bottom + 20}" text-anchor="middle">${escapeXml(p.label)}</text>`,
      `<line x1="${px}" y1="${yMin}" x2="${px}" y2="${yHigh}" class="whisker"/>`,
      `<line x1="${cap1}" y1="${yMin}" x2="${cap2}" y2="${yMin}" class="whisker"/>`,
      `<line x1="${cap1}" y1="${yHigh}" x2="${cap2}" y2="${yHigh}" class="whisker"/>`,
      `<circle cx="${px}" cy="${y(p.median).toFixed(1)}" r="4" class="point"/>`,
      `<text x="${px}" y="${(y(p.max) - 9).toFixed(1)}" text-anchor="middle" class="value">${escapeXml(format(p.median, metric))}</text>`,
    );
  }
  return parts.join('\n');
}

/** The smallest of 1, 2, 2.5 and 5 times a power of ten that is at least `raw`. */
function niceStep(raw: number): number {
  if (!(raw > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 2.5, 5, 10].map((m) => m * power).find((step) => step >= raw)!;
}

function tickLabel(value: number, step: number): string {
  // As many decimals as the step has (0.25 → 2, 2.5 → 1, 500 → 0).
  const decimals = Math.min(3, (String(Number(step.toPrecision(3))).split('.')[1] ?? '').length);
  return value.toLocaleString('en-US', {
    minimumFractionDigits: decimals,
    maximumFractionDigits: decimals,
  });
}
