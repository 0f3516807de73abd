import type { Storage } from '../storage.ts';

/**
 * Work in progress per storage and name, so that concurrent requests for one copy share one
 * generation. Keyed by the storage object (weakly, so a storage the app drops frees its
 * entries) and the normalised name. It dedupes within one process only: instances that share
 * a storage may each generate the copy, which the drivers' atomic saves make harmless.
 */
const flights = new WeakMap<Storage, Map<string, Promise<unknown>>>();

/**
 * Runs `work` for `storage` and `name` unless a run for the same pair is in progress, whose
 * promise is then shared. The entry goes once the run settles, failed or not, so a failure is
 * not remembered: the next request tries again.
 *
 * @example
 * const metadata = await singleFlight(storage, 'reports/42.csv', () => generateCopy());
 */
export function singleFlight<T>(
  storage: Storage,
  name: string,
  work: () => Promise<T>,
): Promise<T> {
  let running = flights.get(storage);
  if (!running) flights.set(storage, (running = new Map()));
  const existing = running.get(name);
  if (existing) return existing as Promise<T>;
  const table = running;
  const flight = work().finally(() => table.delete(name));
  table.set(name, flight);
  return flight;
}
