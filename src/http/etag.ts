/**
 * A strong entity tag from size and modification time, in the format nginx derives for the
 * same file (mtime in whole seconds and size, both in hex): a download resumed with If-Range
 * keeps its tag when it moves between streaming and an nginx offload. It changes whenever
 * either changes, and costs no read of the content; like Last-Modified (and nginx's own tag),
 * it cannot tell apart two same-size writes within one second — `etag: 'content'` can.
 *
 * @example
 * statEtag(37, new Date(0)); // '"0-25"'
 */
export function statEtag(size: number, modified: Date): string {
  return `"${Math.floor(modified.getTime() / 1000).toString(16)}-${size.toString(16)}"`;
}

/** A strong entity-tag: DQUOTE *etagc DQUOTE, etagc = %x21 / %x23-7E / obs-text (RFC 9110 §8.8.3). */
const STRONG_ENTITY_TAG = /^"[\x21\x23-\x7e\x80-\xff]*"$/;

/**
 * Whether `tag` is a well-formed strong entity tag, fit to be sent as ETag and compared in
 * If-Range. A tag from a storage or an origin is checked before it is used.
 *
 * @example
 * isStrongEtag('"abc"'); // true
 * isStrongEtag('W/"abc"'); // false
 */
export function isStrongEtag(tag: string): boolean {
  return STRONG_ENTITY_TAG.test(tag);
}

/**
 * entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE (RFC 9110 §8.8.3); commas may sit inside quotes.
 * Empty list elements (`"a", , "b"`) are skipped: a recipient MUST ignore them (§5.6.1.2).
 */
const ENTITY_TAG = /[\s,]*(W\/)?"([^"]*)"\s*(?:,|$)/gy;

/**
 * The entity tags of an If-Match / If-None-Match / If-Range value, or `'*'`. Malformed
 * members end the list: what was read before them is kept.
 *
 * @example
 * parseEtagList('"a", W/"b"'); // ['"a"', 'W/"b"']
 */
export function parseEtagList(header: string): string[] | '*' {
  if (header.trim() === '*') return '*';
  const tags: string[] = [];
  ENTITY_TAG.lastIndex = 0;
  for (let match = ENTITY_TAG.exec(header); match; match = ENTITY_TAG.exec(header)) {
    tags.push(`${match[1] ?? ''}"${match[2]}"`);
    if (ENTITY_TAG.lastIndex >= header.length) break;
  }
  return tags;
}

function isWeak(tag: string): boolean {
  return tag.startsWith('W/');
}

function opaque(tag: string): string {
  return isWeak(tag) ? tag.slice(2) : tag;
}

/**
 * Strong comparison (RFC 9110 §8.8.3.2): both strong and identical.
 *
 * @example
 * strongMatch('"a"', 'W/"a"'); // false
 */
export function strongMatch(a: string, b: string): boolean {
  return !isWeak(a) && !isWeak(b) && a === b;
}

/**
 * Weak comparison (RFC 9110 §8.8.3.2): identical once any `W/` is ignored.
 *
 * @example
 * weakMatch('"a"', 'W/"a"'); // true
 */
export function weakMatch(a: string, b: string): boolean {
  return opaque(a) === opaque(b);
}
