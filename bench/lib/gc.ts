import { constants, PerformanceObserver, type NodeGCPerformanceDetail } from 'node:perf_hooks';

/** Garbage collections by kind: scavenges, mark-compacts, incremental markings, weak callbacks. */
export interface GcCounts {
  minor: number;
  major: number;
  incremental: number;
  weak: number;
}

/**
 * Where a Koa contender answers its counts: GET reads them; POST runs a full collection first,
 * in a process started with `--expose-gc`. Served beside the Koa app, not through it, so the
 * app keeps the shape every contender shares.
 */
export const GC_COUNTS_PATH = '/__bench/gc';

const KINDS: Record<number, keyof GcCounts> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak',
};

/**
 * Counts this process's collections from now on, into the object returned. Large-file
 * throughput follows how often V8 runs full collections (docs/performance.md, s2), so every
 * round says how many it ran.
 */
export function countGarbageCollections(): Readonly<GcCounts> {
  const counts: GcCounts = { minor: 0, major: 0, incremental: 0, weak: 0 };
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      // Node sets `detail` on 'gc' entries; @types/node 20 declares it on marks and measures only.
      const { detail } = entry as unknown as { detail: NodeGCPerformanceDetail };
      const kind = KINDS[detail.kind];
      if (kind) counts[kind]++;
    }
  }).observe({ entryTypes: ['gc'] });
  return counts;
}

/** A contender's counts so far, from its side channel. */
export async function readGcCounts(baseUrl: string): Promise<GcCounts> {
  const response = await fetch(`${baseUrl}${GC_COUNTS_PATH}`);
  if (!response.ok) throw new Error(`${baseUrl}${GC_COUNTS_PATH} answered ${response.status}`);
  return (await response.json()) as GcCounts;
}

/**
 * Makes a contender started with `--expose-gc` run a full collection, so that a memory reading
 * after it counts what is held rather than what waits for the collector.
 */
export async function collectGarbage(baseUrl: string): Promise<void> {
  const response = await fetch(`${baseUrl}${GC_COUNTS_PATH}`, { method: 'POST' });
  if (!response.ok) throw new Error(`${baseUrl} ran no collection: ${response.status}`);
  await response.arrayBuffer();
}

/** The collections between two readings. */
export function gcBetween(before: GcCounts, after: GcCounts): GcCounts {
  return {
    minor: after.minor - before.minor,
    major: after.major - before.major,
    incremental: after.incremental - before.incremental,
    weak: after.weak - before.weak,
  };
}
