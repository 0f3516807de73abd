// The injection table: values an attacker controls, fed to every header the library writes.
// Each value goes in as a download name (the `filename` option and a record's name field), as
// a media type and an ETag the storage reports, as the storage's URL (Location, X-Offload-Url,
// and the offload path read from it), and, where it can be a file's name, as the name on disk.

export interface InjectionValue {
  what: string;
  value: string;
}

const hex = (code: number) => code.toString(16).padStart(2, '0');

/** Every C0 control character and DEL, in the middle of a name. */
const CONTROLS: InjectionValue[] = [...Array.from({ length: 0x20 }, (_, c) => c), 0x7f].map(
  (code) => ({ what: `control 0x${hex(code)}`, value: `a${String.fromCharCode(code)}b.txt` }),
);

export const INJECTION: InjectionValue[] = [
  ...CONTROLS,
  { what: 'CRLF and a Set-Cookie line', value: 'a.txt\r\nSet-Cookie: injected=1' },
  { what: 'CRLF CRLF and a body', value: 'a.txt\r\n\r\n<script>x</script>' },
  { what: 'a bare LF and a header', value: 'a.txt\nX-Injected: 1' },
  { what: 'C1 control NEL U+0085', value: 'a\u0085b.txt' },
  { what: 'a double quote', value: 'a"b.txt' },
  { what: 'a quote closing the parameter', value: 'a.txt"; filename="evil.exe' },
  { what: 'a single quote', value: "it's.txt" },
  { what: 'a semicolon', value: 'a;b.txt' },
  { what: 'a second filename* parameter', value: "a.txt; filename*=UTF-8''evil.exe" },
  { what: 'a slash', value: 'reports/2024/a.txt' },
  { what: 'a climb in slashes', value: '../../etc/passwd' },
  { what: 'a backslash', value: 'a\\b.txt' },
  { what: 'an encoded CRLF, literally', value: 'a%0d%0aX-Injected: 1.txt' },
  { what: 'non-Latin-1 letters', value: 'отчёт €.txt' },
  { what: 'a lone surrogate', value: 'a\ud800b.txt' },
  { what: 'a 64 KiB name', value: `${'x'.repeat(64 * 1024)}.pdf` },
];

/**
 * Which values can name a file on disk, and how the library answers a request for it: names
 * with a control character are refused (404, by `normalizeName`), as are `..` segments and
 * backslashes; the others are served. NUL, a lone surrogate and names over 255 bytes cannot
 * be created, and a slash makes a path, not a name.
 */
export function onDisk(value: string): 'served' | 'refused' | undefined {
  if (value.includes('\0') || value.includes('/') || !value.isWellFormed()) return undefined;
  if (Buffer.byteLength(value) > 255) return undefined;
  // eslint-disable-next-line no-control-regex -- control characters are what is refused
  if (/[\u0000-\u001f\u007f-\u009f\\]/.test(value)) return 'refused';
  return 'served';
}

/** Header names an injection would add, if any value broke out of its header. */
export const INJECTED_HEADERS = ['set-cookie', 'x-injected'];
