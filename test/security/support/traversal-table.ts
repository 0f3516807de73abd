import type { BackendKind } from './harness.ts';
import { HELLO, LINKED, NAME_255 } from './harness.ts';

// The traversal table: one row per hostile name, sent after /dl/ (storageDownload) and /p/
// (pathDownload with a root), byte for byte as written here, to every backend. A row expects
// either the file named (`serve`) or a refusal (`refuse`), with the exact status per backend
// where a proxy answers before the app does.

/** What a row expects of one backend. */
export type Expected = { serve: string; note?: string } | { refuse: number; note?: string };

export interface TraversalRow {
  group: string;
  /** What is tried, for the test name and the docs. */
  what: string;
  /** The path after the route prefix, sent as it is (percent-encodings included). */
  path: string | ((deepName: string) => string);
  /** The answer of every backend not listed in `per`. */
  expect: Expected;
  per?: Partial<Record<BackendKind, Expected>>;
  /** Must be answered within this many ms (FIFOs, sockets); default 5000. */
  withinMs?: number;
}

const served = (bytes: string = HELLO): Expected => ({ serve: bytes });
const notFound: Expected = { refuse: 404 };

/** lighttpd refuses an overlong UTF-8 sequence in the path itself. */
const LIGHTTPD_REFUSES_OVERLONG = { lighttpd: { refuse: 400 } } as const;

/** nginx (so auto behind it) and lighttpd refuse a NUL in the path before the app sees it. */
const PROXY_REFUSES_NUL = {
  nginx: { refuse: 400 },
  auto: { refuse: 400 },
  lighttpd: { refuse: 400 },
} as const;

export const TRAVERSAL: TraversalRow[] = [
  // The baseline: what the root holds is served, through links that stay inside it too.
  { group: 'baseline', what: 'a file of the root', path: 'hello.txt', expect: served() },
  { group: 'baseline', what: 'a link inside the root', path: 'link-in.txt', expect: served() },
  {
    group: 'baseline',
    what: 'a link to the root itself, followed twice',
    path: 'here/here/hello.txt',
    expect: served(),
  },
  {
    group: 'baseline',
    what: 'a link to the parent, back into the root: its target is inside',
    path: 'up/files/hello.txt',
    expect: served(),
  },

  // Plain and percent-encoded dot segments.
  { group: 'encoded', what: '../ raw', path: '../secret.txt', expect: notFound },
  { group: 'encoded', what: '../../ raw', path: 'sub/../../secret.txt', expect: notFound },
  { group: 'encoded', what: '..%2f', path: '..%2fsecret.txt', expect: notFound },
  { group: 'encoded', what: '%2e%2e/', path: '%2e%2e/secret.txt', expect: notFound },
  { group: 'encoded', what: '%2e%2e%2f', path: '%2e%2e%2fsecret.txt', expect: notFound },
  { group: 'encoded', what: '%2E%2E%2F upper case', path: '%2E%2E%2Fsecret.txt', expect: notFound },
  { group: 'encoded', what: '.%2e/', path: '.%2e/secret.txt', expect: notFound },
  {
    group: 'encoded',
    what: 'sub/%2e%2e/%2e%2e/',
    path: 'sub/%2e%2e/%2e%2e/secret.txt',
    expect: notFound,
  },
  {
    group: 'encoded',
    what: '%2e%2e/ to a directory',
    path: '%2e%2e/outside/x.txt',
    expect: notFound,
  },

  // Decoded once, never twice: %252e is the literal "%2e".
  {
    group: 'double-encoded',
    what: '%252e%252e/ names the directory literally called %2e%2e',
    path: '%252e%252e/secret.txt',
    expect: served('a directory literally named %2e%2e\n'),
  },
  {
    group: 'double-encoded',
    what: '%252e%252e%252f',
    path: '%252e%252e%252fsecret.txt',
    expect: notFound,
  },
  {
    group: 'double-encoded',
    what: '%25%32%65 (every character encoded) is the literal %2e too',
    path: '%25%32%65%25%32%65/secret.txt',
    expect: served('a directory literally named %2e%2e\n'),
  },

  // Overlong UTF-8 for "." and "/" (invalid UTF-8: never decoded to ASCII).
  {
    group: 'overlong UTF-8',
    what: '%c0%ae%c0%ae/',
    path: '%c0%ae%c0%ae/secret.txt',
    expect: notFound,
    per: LIGHTTPD_REFUSES_OVERLONG,
  },
  {
    group: 'overlong UTF-8',
    what: '%c0%ae%c0%ae%c0%af',
    path: '%c0%ae%c0%ae%c0%afsecret.txt',
    expect: notFound,
    per: LIGHTTPD_REFUSES_OVERLONG,
  },
  {
    group: 'overlong UTF-8',
    what: '%e0%80%ae (3 bytes)',
    path: '%e0%80%ae%e0%80%ae/secret.txt',
    expect: notFound,
  },
  {
    group: 'overlong UTF-8',
    what: '%f0%80%80%ae (4 bytes)',
    path: '%f0%80%80%ae%f0%80%80%ae/secret.txt',
    expect: notFound,
  },
  {
    group: 'overlong UTF-8',
    what: '%c1%9c (backslash)',
    path: '..%c1%9csecret.txt',
    expect: notFound,
    per: LIGHTTPD_REFUSES_OVERLONG,
  },
  {
    group: 'overlong UTF-8',
    what: 'a lone surrogate %ed%a0%80',
    path: '%ed%a0%80.txt',
    expect: notFound,
  },

  // Characters that look like "." or "/" and are neither: never folded (no NFKC) into them.
  {
    group: 'Unicode look-alike',
    what: 'fullwidth solidus U+FF0F',
    path: '..%ef%bc%8fsecret.txt',
    expect: notFound,
  },
  {
    group: 'Unicode look-alike',
    what: 'fullwidth reverse solidus U+FF3C',
    path: '..%ef%bc%bcsecret.txt',
    expect: notFound,
  },
  {
    group: 'Unicode look-alike',
    what: 'one dot leader U+2024',
    path: '%e2%80%a4%e2%80%a4/secret.txt',
    expect: notFound,
  },
  {
    group: 'Unicode look-alike',
    what: 'two dot leader U+2025',
    path: '%e2%80%a5/secret.txt',
    expect: notFound,
  },
  {
    group: 'Unicode look-alike',
    what: 'fullwidth full stop U+FF0E',
    path: '%ef%bc%8e%ef%bc%8e/secret.txt',
    expect: notFound,
  },
  {
    group: 'Unicode look-alike',
    what: 'small full stop U+FE52',
    path: '%ef%b9%92%ef%b9%92/secret.txt',
    expect: notFound,
  },
  {
    group: 'Unicode look-alike',
    what: 'division slash U+2215',
    path: '..%e2%88%95secret.txt',
    expect: notFound,
  },
  {
    group: 'Unicode look-alike',
    what: 'fraction slash U+2044',
    path: '..%e2%81%84secret.txt',
    expect: notFound,
  },

  // NUL: never truncates a name (hello.txt%00.pdf is not hello.txt).
  {
    group: 'NUL',
    what: 'hello.txt%00.pdf',
    path: 'hello.txt%00.pdf',
    expect: notFound,
    per: PROXY_REFUSES_NUL,
  },
  {
    group: 'NUL',
    what: 'hello.txt%00',
    path: 'hello.txt%00',
    expect: notFound,
    per: PROXY_REFUSES_NUL,
  },
  {
    group: 'NUL',
    what: '..%00/',
    path: '..%00/secret.txt',
    expect: notFound,
    per: PROXY_REFUSES_NUL,
  },

  // Backslashes: a separator on Windows, refused everywhere.
  { group: 'backslash', what: '..\\ raw', path: '..\\secret.txt', expect: notFound },
  { group: 'backslash', what: '..%5c', path: '..%5csecret.txt', expect: notFound },
  {
    group: 'backslash',
    what: 'sub\\..\\..\\ raw',
    path: 'sub\\..\\..\\secret.txt',
    expect: notFound,
  },
  {
    group: 'backslash',
    what: 'hello.txt behind a backslash',
    path: 'sub%5chello.txt',
    expect: notFound,
  },

  // Absolute names.
  {
    group: 'absolute',
    what: '/etc/passwd (a second slash)',
    path: '/etc/passwd',
    expect: notFound,
  },
  { group: 'absolute', what: '%2fetc%2fpasswd', path: '%2fetc%2fpasswd', expect: notFound },
  { group: 'absolute', what: 'C:\\ raw', path: 'C:\\Windows\\win.ini', expect: notFound },
  { group: 'absolute', what: 'C:/', path: 'C:/Windows/win.ini', expect: notFound },
  { group: 'absolute', what: 'c: without a separator', path: 'c:hello.txt', expect: notFound },
  {
    group: 'absolute',
    what: 'UNC %5c%5cserver%5cshare',
    path: '%5c%5c127.0.0.1%5cshare',
    expect: notFound,
  },

  // Symbolic links: their target decides, and it must lie inside the root.
  { group: 'symlink', what: 'a link to a file outside', path: 'link-out.txt', expect: notFound },
  { group: 'symlink', what: 'a link to /etc/passwd', path: 'link-abs', expect: notFound },
  {
    group: 'symlink',
    what: 'a link to a directory outside',
    path: 'dir-out/x.txt',
    expect: notFound,
  },
  {
    group: 'symlink',
    what: 'a link to the parent, to a file outside',
    path: 'up/secret.txt',
    expect: notFound,
  },
  {
    group: 'symlink',
    what: 'an outward link behind an inward one',
    path: 'here/link-out.txt',
    expect: notFound,
  },
  { group: 'symlink', what: 'a loop of two links', path: 'loop-a', expect: notFound },
  { group: 'symlink', what: 'a link to itself', path: 'self', expect: notFound },
  { group: 'symlink', what: 'a dangling link', path: 'dangling', expect: notFound },

  // A hard link is the same inode under another name: nothing tells it from an ordinary file
  // (no link to follow, no path outside to compare). What is served is what the root holds.
  {
    group: 'hard link',
    what: 'a hard link inside the root to an inode also named outside',
    path: 'hardlink.txt',
    expect: served(LINKED),
  },

  // Special files: none is a file to download, and none may block.
  {
    group: 'special file',
    what: 'a FIFO (no writer)',
    path: 'fifo',
    expect: notFound,
    withinMs: 1000,
  },
  {
    group: 'special file',
    what: 'a UNIX socket',
    path: 'socket',
    expect: notFound,
    withinMs: 1000,
  },
  { group: 'special file', what: 'a directory', path: 'dir', expect: notFound },
  { group: 'special file', what: 'a directory with a slash', path: 'sub/', expect: notFound },
  {
    group: 'special file',
    what: '/dev/zero by absolute name',
    path: '%2fdev%2fzero',
    expect: notFound,
    withinMs: 1000,
  },

  // Dotfiles: refused by default, however the dot is written.
  { group: 'dotfile', what: '.env', path: '.env', expect: notFound },
  { group: 'dotfile', what: '%2eenv', path: '%2eenv', expect: notFound },
  { group: 'dotfile', what: '.git/config', path: '.git/config', expect: notFound },
  { group: 'dotfile', what: 'sub/.hidden', path: 'sub/.hidden', expect: notFound },
  { group: 'dotfile', what: 'sub/%2ehidden', path: 'sub/%2ehidden', expect: notFound },

  // Length limits: 255 bytes per name, 4096 per path (PATH_MAX), and the URL itself.
  { group: 'length', what: 'a 255-byte name (the limit)', path: NAME_255, expect: served() },
  { group: 'length', what: 'a 256-byte name', path: `${'n'.repeat(252)}.txt`, expect: notFound },
  { group: 'length', what: 'a 1000-byte name', path: 'n'.repeat(1000), expect: notFound },
  {
    group: 'length',
    what: 'a path of 4090 bytes (under PATH_MAX)',
    path: (deep) => deep,
    expect: served(),
    per: {
      // mod_xsendfile joins the value to XSendFilePath and refuses the result as over PATH_MAX
      // ("File name too long"): Apache answers 404 for this existing file, never another one.
      apache: { refuse: 404, note: 'mod_xsendfile: File name too long' },
    },
  },
  {
    group: 'length',
    what: 'a path over 4096 bytes',
    path: (deep) => `${deep}/${'x'.repeat(100)}`,
    expect: notFound,
  },
  {
    group: 'length',
    what: 'a 64 KiB URL',
    path: 'u'.repeat(64 * 1024),
    // Node's 16 KiB header limit; nginx and Apache stop it first (8 KiB request line).
    expect: { refuse: 431 },
    per: { nginx: { refuse: 414 }, auto: { refuse: 414 }, apache: { refuse: 414 } },
  },
];

// Every row is tried under both routes; overrides above were measured against the real
// proxies and are there only where a proxy answers the request itself.
