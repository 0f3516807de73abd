/** The scenarios of the sweeps, by the name `--only` gives them. */
export const SWEEP_SCENARIOS = {
  rules: 'rules per offload',
  files: 'distinct files',
  sizes: 'tail range by file size',
  activeConnections: 'active connections',
  idleConnections: 'idle connections',
} as const;

/** One panel of a sweep's chart: a scenario's medians against the level swept. */
export interface SweepPlot {
  scenario: string;
  /** What the y axis shows, with its unit. */
  yLabel: string;
}

/** A sweep as its chart shows it, written to `sweep-<name>.svg`. */
export interface Sweep {
  name: string;
  title: string;
  /** What the x axis shows (log scale): the level swept. */
  xLabel: string;
  plots: SweepPlot[];
}

export const SWEEPS: readonly Sweep[] = [
  {
    name: 'rules',
    title: 'Offload as the rules grow (the match last)',
    xLabel: 'rules',
    plots: [{ scenario: SWEEP_SCENARIOS.rules, yLabel: 'CPU µs per download' }],
  },
  {
    name: 'files',
    title: 'Streamed 1 KiB downloads as the distinct names grow',
    xLabel: 'distinct files requested at random',
    plots: [{ scenario: SWEEP_SCENARIOS.files, yLabel: 'CPU µs per download' }],
  },
  {
    name: 'sizes',
    title: 'Range: bytes=-1024 as the file grows (64 connections)',
    xLabel: 'file size',
    plots: [{ scenario: SWEEP_SCENARIOS.sizes, yLabel: 'requests per second' }],
  },
  {
    name: 'connections',
    title: 'The 1 KiB file as keep-alive connections grow',
    xLabel: 'connections',
    plots: [
      { scenario: SWEEP_SCENARIOS.activeConnections, yLabel: 'requests per second (wrk -c N)' },
      { scenario: SWEEP_SCENARIOS.idleConnections, yLabel: 'RSS KiB per idle connection' },
    ],
  },
];
