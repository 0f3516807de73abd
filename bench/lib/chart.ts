import { format, type Row } from './measure.ts';

const WIDTH = 900;
const LABEL_WIDTH = 300;
const BAR_HEIGHT = 18;
const GAP = 6;
const GROUP_GAP = 34;

/**
 * A horizontal bar chart of the run's medians, one group per scenario, bars scaled to the best
 * contender of the group (for memory, the largest). Written by hand: a few rectangles and
 * labels do not justify a charting dependency and its headless browser or canvas.
 */
export function renderChart(rows: readonly Row[]): string {
  const scenarios = [...new Set(rows.map((r) => r.scenario))];
  const parts: string[] = [];
  let y = 20;
  for (const scenario of scenarios) {
    const group = rows.filter((r) => r.scenario === scenario);
    const best = Math.max(...group.map((r) => r.median));
    parts.push(`<text x="10" y="${y + 12}" class="scenario">${escapeXml(scenario)}</text>`);
    y += 20;
    for (const row of group) {
      const length = best > 0 ? ((WIDTH - LABEL_WIDTH - 140) * row.median) / best : 0;
      const ours = row.contender.startsWith('koa-downloadview');
      parts.push(
        `<text x="${LABEL_WIDTH - 8}" y="${y + 13}" text-anchor="end">${escapeXml(row.contender)}</text>`,
        `<rect x="${LABEL_WIDTH}" y="${y}" width="${length.toFixed(1)}" height="${BAR_HEIGHT}" class="${ours ? 'ours' : 'peer'}"/>`,
        `<text x="${(LABEL_WIDTH + length + 6).toFixed(1)}" y="${y + 13}">${escapeXml(format(row.median, row.metric))}</text>`,
      );
      y += BAR_HEIGHT + GAP;
    }
    y += GROUP_GAP - GAP;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${y}" viewBox="0 0 ${WIDTH} ${y}" font-family="sans-serif" font-size="12">
<style>.scenario{font-weight:bold;font-size:13px}.ours{fill:#2f6fb0}.peer{fill:#a8b3bf}</style>
<rect width="100%" height="100%" fill="#fff"/>
${parts.join('\n')}
</svg>
`;
}

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
