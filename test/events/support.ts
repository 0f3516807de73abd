import { setTimeout as sleep } from 'node:timers/promises';
import type { DownloadEvent, DownloadHook } from '../../src/index.ts';

/** A hook that keeps every event it is told, in order. */
export interface RecordingHook {
  readonly hook: DownloadHook;
  readonly events: DownloadEvent[];
  /** The event types so far, e.g. `['start', 'complete']`. */
  types(): string[];
  /** Resolves once `count` events were told (the last ones follow the response's end). */
  until(count: number, timeoutMs?: number): Promise<DownloadEvent[]>;
}

export function recordingHook(): RecordingHook {
  const events: DownloadEvent[] = [];
  return {
    hook: (event) => void events.push(event),
    events,
    types: () => events.map((event) => event.type),
    async until(count, timeoutMs = 3000) {
      const deadline = Date.now() + timeoutMs;
      while (events.length < count) {
        if (Date.now() > deadline) {
          throw new Error(
            `${count} events expected, got ${JSON.stringify(events.map((e) => e.type))}`,
          );
        }
        await sleep(5);
      }
      return events;
    },
  };
}

/** The event of `type` among `events`; fails the test when absent. */
export function eventOf<T extends DownloadEvent['type']>(
  events: readonly DownloadEvent[],
  type: T,
): Extract<DownloadEvent, { type: T }> {
  const found = events.find((event) => event.type === type);
  if (!found) throw new Error(`no "${type}" event in ${JSON.stringify(events.map((e) => e.type))}`);
  return found as Extract<DownloadEvent, { type: T }>;
}
