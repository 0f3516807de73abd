/** What a browser does with a link: saves it, shows it, or gets an error page. */
export type DemoOutcome = 'download' | 'inline' | 'refused';

/** A proxy one per-route wrapper writes its header for. */
export type DemoProxy = 'nginx' | 'apache' | 'lighttpd' | 'caddy';

/** One link of the home page. */
export interface DemoLink {
  /** The route, unencoded (the page percent-encodes it). */
  href: string;
  /** What the link demonstrates, in a sentence. */
  shows: string;
  outcome: DemoOutcome;
  /** The name the browser suggests when saving (downloads only). */
  filename?: string;
  /** Needs the embedded S3 server (left out of the page when it is not running). */
  s3?: boolean;
  /** The proxy this route's own header is for: without it in front, the file is empty. */
  needs?: DemoProxy;
}

/** A group of links under one heading. */
export interface DemoSection {
  title: string;
  intro: string;
  links: DemoLink[];
}

/** Every download the demo offers, grouped as the home page shows them. */
export const SECTIONS: readonly DemoSection[] = [
  {
    title: 'Storages',
    intro:
      'One route per storage, each ending with ctx.body = new StorageFile(storage, name). ' +
      'The app-wide backend decides who sends the bytes.',
    links: [
      {
        href: '/storage/hello.txt',
        shows: 'FileSystemStorage over demo/files/ (offloaded to nginx under demo:nginx)',
        outcome: 'download',
        filename: 'hello.txt',
      },
      {
        href: '/storage/reports/résumé 2026.csv',
        shows: 'a Unicode name with a space: RFC 8187 filename* beside an ASCII fallback',
        outcome: 'download',
        filename: 'résumé 2026.csv',
      },
      {
        href: '/compressed/reports/sales-2026.csv',
        shows:
          'precompressed variants: sales-2026.csv.br (or .gz) sent as sales-2026.csv with ' +
          'Content-Encoding, 2 KiB instead of 36 KiB; the browser saves the decoded CSV',
        outcome: 'download',
        filename: 'sales-2026.csv',
      },
      {
        href: '/inline/data.json',
        shows: 'the same storage shown inline instead of saved (Content-Disposition: inline)',
        outcome: 'inline',
      },
      {
        href: '/memory/big.bin',
        shows: 'MemoryStorage: 4 MiB built at start-up, with ranges and resumable downloads',
        outcome: 'download',
        filename: 'big.bin',
      },
      {
        href: '/s3/exports/Übersicht 2026 — 報告.csv',
        shows: 'S3Storage over the embedded S3 server, read with GetObject (proxied by nginx)',
        outcome: 'download',
        filename: 'Übersicht 2026 — 報告.csv',
        s3: true,
      },
      {
        href: '/tar/notes/Notes de version 1.2 — 日本語.txt',
        shows: 'a custom driver: TarStorage reads members straight out of a .tar archive',
        outcome: 'download',
        filename: 'Notes de version 1.2 — 日本語.txt',
      },
    ],
  },
  {
    title: 'Kinds of file',
    intro: 'A DownloadFile need not come from a storage.',
    links: [
      {
        href: '/path/hello.txt',
        shows: 'pathDownload: a path on disk, confined to demo/files/',
        outcome: 'download',
        filename: 'hello.txt',
      },
      {
        href: '/virtual/hello.txt',
        shows: 'VirtualFile from a string, generated per request',
        outcome: 'download',
        filename: 'hello.txt',
      },
      {
        href: '/virtual/numbers.csv',
        shows: 'a generated stream of unknown length (chunked, so no ranges)',
        outcome: 'download',
        filename: 'numbers.csv',
      },
      {
        href: '/invoices/1',
        shows: 'objectDownload: the file a record holds, under a name built from the record',
        outcome: 'download',
        filename: 'Invoice № 1 (Ada).txt',
      },
      {
        href: '/invoices/2',
        shows: 'the same route refusing a record that is not yours (you are Ada): 403',
        outcome: 'refused',
      },
      {
        href: '/reports/2026-Q3.csv',
        shows:
          'materialize(): a generated report stored on its first request, then sent from the ' +
          'stored copy (by nginx under demo:nginx) without generating it again',
        outcome: 'download',
        filename: 'Sales report 2026-Q3.csv',
      },
      {
        href: '/http/hello.txt',
        shows: 'HttpFile: fetched from another HTTP server (this one) and passed on',
        outcome: 'download',
        filename: 'hello.txt',
      },
    ],
  },
  {
    title: 'Backends for one route',
    intro:
      'A downloadview() or a wrapper on one route overrides the app-wide backend. A proxy ' +
      "wrapper's answer is an empty 200 plus a header: the file arrives only when that " +
      'proxy is in front.',
    links: [
      {
        href: '/redirect/hello.txt',
        shows: 'redirect: 302 to a presigned URL of the embedded S3 server, which sends the bytes',
        outcome: 'download',
        filename: 'hello.txt',
        s3: true,
      },
      {
        href: '/auto/hello.txt',
        shows: 'auto: the proxy says how to offload (X-Sendfile-Type); streamed when none does',
        outcome: 'download',
        filename: 'hello.txt',
      },
      {
        href: '/nginx/hello.txt',
        shows: 'xAccelRedirect: X-Accel-Redirect for nginx',
        outcome: 'download',
        filename: 'hello.txt',
        needs: 'nginx',
      },
      {
        href: '/apache/hello.txt',
        shows: 'xSendfile: X-Sendfile for Apache mod_xsendfile',
        outcome: 'download',
        filename: 'hello.txt',
        needs: 'apache',
      },
      {
        href: '/lighttpd/hello.txt',
        shows: 'lighttpdSendfile: X-Sendfile for lighttpd',
        outcome: 'download',
        filename: 'hello.txt',
        needs: 'lighttpd',
      },
      {
        href: '/caddy/hello.txt',
        shows: 'caddyAccelRedirect: X-Accel-Redirect for Caddy',
        outcome: 'download',
        filename: 'hello.txt',
        needs: 'caddy',
      },
    ],
  },
];

/** The video on the home page: streamed by Koa, so the browser's own Range requests show. */
export const DEMO_VIDEO = '/video/clip.webm';
