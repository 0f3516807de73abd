/**
 * The legal keys of an options type, as a record so that the compiler checks the list is
 * complete and holds nothing else: `{ maxRanges: true, etag: true }` for `StreamingOptions`.
 */
export type OptionKeys<T> = { readonly [K in keyof Required<T>]: true };

/**
 * Checks an options argument once, at set-up: it must be an object (or absent) and hold only
 * known keys, so a misspelt option (`maxRange`) throws instead of silently setting nothing.
 * Values are checked by each factory, which knows their legal forms.
 *
 * @example
 * checkOptionKeys('downloadview', options, { backend: true, rules: true });
 */
export function checkOptionKeys<T extends object>(
  where: string,
  options: T | undefined,
  legal: OptionKeys<T>,
): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new TypeError(`${where}: options must be an object, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!Object.hasOwn(legal, key)) {
      const known = Object.keys(legal).join(', ');
      throw new TypeError(`${where}: unknown option "${key}"; known options: ${known}`);
    }
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'an array' : typeof value;
}
