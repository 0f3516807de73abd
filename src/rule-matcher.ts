import type { OffloadTarget } from './backends/offload-target.ts';
import type { DownloadFile } from './files/download-file.ts';
import type { CompiledRule } from './rules.ts';

/** The rule that offloads a file, and where it sends it. */
export interface RuleMatch {
  readonly rule: CompiledRule;
  readonly target: OffloadTarget;
}

/** A rule and its place in the list: the lower, the earlier it wins. */
interface Placed {
  readonly order: number;
  readonly rule: CompiledRule;
}

/** The rules that look at one thing (URLs, or paths), by the prefix they match. */
class Side {
  readonly #byPrefix = new Map<string, Placed[]>();
  /** The place of this side's earliest rule. */
  first = Number.POSITIVE_INFINITY;

  constructor(readonly locate: (file: DownloadFile) => Promise<string | undefined>) {}

  add(placed: Placed): void {
    this.first = Math.min(this.first, placed.order);
    const same = this.#byPrefix.get(placed.rule.prefix);
    if (same) same.push(placed);
    else this.#byPrefix.set(placed.rule.prefix, [placed]);
  }

  /**
   * The earliest rule placed before `before` that sends `location` somewhere. Every prefix ends
   * with `/`, so the prefixes `location` can start with are its slices up to each `/`: one
   * lookup each, however many rules there are.
   */
  find(location: string, before: number): (RuleMatch & Placed) | undefined {
    const candidates: Placed[] = [];
    for (let at = location.indexOf('/'); at !== -1; at = location.indexOf('/', at + 1)) {
      for (const placed of this.#byPrefix.get(location.slice(0, at + 1)) ?? []) {
        if (placed.order < before) candidates.push(placed);
      }
    }
    candidates.sort((a, b) => a.order - b.order);
    for (const placed of candidates) {
      const target = placed.rule.target(location);
      if (target) return { ...placed, target };
    }
    return undefined;
  }
}

/**
 * Finds the first rule, in the order given, that offloads a file: the answer a test of every
 * rule in turn gives, at the cost of one map lookup per segment of the file's URL and path, so
 * that ten thousand rules cost about what one does. Each file's URL and path are asked for at
 * most once, and a side is not asked at all when no rule of it comes before a match already
 * found (a storage's `path()` confines the name, an S3 `url()` signs: neither is free).
 */
export class RuleMatcher {
  readonly #sides: Side[];

  constructor(rules: readonly CompiledRule[]) {
    const url = new Side((file) => file.url());
    const path = new Side((file) => file.localPath());
    rules.forEach((rule, order) => (rule.on === 'url' ? url : path).add({ order, rule }));
    this.#sides = [url, path].filter((side) => side.first !== Number.POSITIVE_INFINITY);
    this.#sides.sort((a, b) => a.first - b.first);
  }

  async first(file: DownloadFile): Promise<RuleMatch | undefined> {
    let best: (RuleMatch & Placed) | undefined;
    for (const side of this.#sides) {
      const before = best?.order ?? Number.POSITIVE_INFINITY;
      if (side.first >= before) continue;
      const location = await side.locate(file);
      const found = location === undefined ? undefined : side.find(location, before);
      if (found) best = found;
    }
    return best && { rule: best.rule, target: best.target };
  }
}

const matchers = new WeakMap<readonly CompiledRule[], RuleMatcher>();

/**
 * The matcher of a list of compiled rules, built on first use and kept with the list (an app's
 * rules, or a route's, are compiled once at start-up).
 *
 * @example
 * const found = await matcherFor(rules).first(file);
 */
export function matcherFor(rules: readonly CompiledRule[]): RuleMatcher {
  let matcher = matchers.get(rules);
  if (!matcher) {
    matcher = new RuleMatcher(rules);
    matchers.set(rules, matcher);
  }
  return matcher;
}
