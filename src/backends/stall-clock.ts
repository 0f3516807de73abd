/**
 * Deadlines for waits on storages, kept by one interval per timeout length instead of one
 * timer per wait. A streamed download waits on its storage two or three times (metadata, the
 * opened file, the first bytes), nearly always for well under a millisecond; a Node timer per
 * wait, set and cleared, cost more than the rest of the wait's bookkeeping, since clearing the
 * last timer of a length removes that length's list and arming the next one creates it again.
 *
 * A deadline is found on the first tick after it passed, and the clock ticks ten times per `ms`:
 * a wait of `ms` expires between `ms` and 1.1 × `ms` after it began (every 3 s for the default
 * 30 s, which costs nothing beside a request).
 */
class StallClock {
  readonly #ms: number;
  readonly #waits = new Set<Deadline>();
  #timer: NodeJS.Timeout | undefined;

  constructor(ms: number) {
    this.#ms = ms;
  }

  /** Calls `expire` once `ms` passed, unless the returned function was called first. */
  start(expire: () => void): () => void {
    const deadline: Deadline = { at: Date.now() + this.#ms, expire };
    this.#waits.add(deadline);
    // Never holds the process open by itself: a wait always belongs to a request whose socket
    // does.
    this.#timer ??= setInterval(() => this.#tick(), Math.max(1, Math.ceil(this.#ms / 10))).unref();
    return () => this.#waits.delete(deadline);
  }

  #tick(): void {
    // Stopped on the first tick that finds nothing to watch, not when the last wait ends:
    // between two requests the set is often empty for a moment.
    if (this.#waits.size === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
      return;
    }
    const now = Date.now();
    for (const deadline of this.#waits) {
      if (deadline.at > now) continue;
      this.#waits.delete(deadline);
      deadline.expire();
    }
  }
}

interface Deadline {
  readonly at: number;
  readonly expire: () => void;
}

const clocks = new Map<number, StallClock>();

/**
 * Calls `expire` once `ms` (to 1.1 × `ms`) passed, unless the returned function is called
 * first. One clock per length: an app has one stall timeout, or a few.
 *
 * @example
 * const cancel = startDeadline(30_000, () => body.destroy(stalled()));
 */
export function startDeadline(ms: number, expire: () => void): () => void {
  let clock = clocks.get(ms);
  if (!clock) {
    clock = new StallClock(ms);
    clocks.set(ms, clock);
  }
  return clock.start(expire);
}
