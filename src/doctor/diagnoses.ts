/**
 * Every diagnosis the doctor can give, as data: the command prints the ones it finds, and
 * docs/troubleshooting.md is generated from this table (a test fails when they disagree).
 */

/** Where a fault lies: the Koa app, the reverse proxy's configuration, or the storage. */
export type DiagnosisLayer = 'app' | 'proxy' | 'storage';

/** The identifier of a known diagnosis. */
export type DiagnosisId =
  | 'app-unreachable'
  | 'app-no-probe'
  | 'probe-unavailable'
  | 'storage-probe-corrupt'
  | 'app-offload-invalid'
  | 'app-delivery-unexpected'
  | 'backend-proxy-mismatch'
  | 'offload-without-proxy'
  | 'proxy-unreachable'
  | 'proxy-cannot-reach-app'
  | 'proxy-not-routing-to-app'
  | 'nginx-internal-location-missing'
  | 'offload-target-not-found'
  | 'caddy-handle-response-missing'
  | 'apache-xsendfile-off'
  | 'lighttpd-x-sendfile-off'
  | 'offload-header-not-handled'
  | 'proxy-serves-other-bytes'
  | 'offload-header-leaked'
  | 'range-not-served'
  | 'internal-location-public'
  | 'proxy-forwards-offload-headers';

/** One known way a deployment fails, how it shows and how to fix it. */
export interface Diagnosis {
  /** Stable identifier, printed by the doctor and used as the anchor in the docs. */
  readonly id: string;
  /** The layer to fix. */
  readonly layer: DiagnosisLayer;
  /** A short name of the fault. */
  readonly title: string;
  /** What the doctor saw that points here. */
  readonly seen: string;
  /** What to change, per proxy where it differs. */
  readonly fix: string;
}

const TABLE = [
  {
    id: 'app-unreachable',
    layer: 'app',
    title: 'The app does not answer',
    seen: 'The `--app` URL refused the connection, timed out or failed TLS.',
    fix: 'Start the app, or pass the address it listens on (the one the proxy forwards to) as `--app`.',
  },
  {
    id: 'app-no-probe',
    layer: 'app',
    title: 'No health-check route at the app URL',
    seen: 'The `--app` URL answered without an `X-Download-Probe` header (or with a probe version this doctor does not know).',
    fix: 'Mount `healthcheck({ storage, name })` at that path, on a router behind `downloadview()`, and run the doctor of the same koa-downloadview version as the app.',
  },
  {
    id: 'probe-unavailable',
    layer: 'storage',
    title: 'The storage cannot provide the probe',
    seen: 'The health-check route answered an error status: the probe file is missing and the storage cannot save it (read-only), or the storage is unreachable.',
    fix: 'Give the app write access to the probe name once, or store the output of `npx koa-downloadview probe` under that name; check the storage is reachable from the app.',
  },
  {
    id: 'storage-probe-corrupt',
    layer: 'storage',
    title: 'The storage holds other bytes under the probe name',
    seen: 'The app streamed the probe itself, but its bytes differ from the probe content.',
    fix: 'Delete the file under the probe name (`healthcheck()` writes it again), or choose a name no other file uses.',
  },
  {
    id: 'app-offload-invalid',
    layer: 'app',
    title: 'The offload answer is malformed',
    seen: 'The app answered with an offload header and also a body, or with an `X-Accel-Redirect` that is not an absolute URI path, or an `X-Sendfile` that is not an absolute file path.',
    fix: 'Let `downloadview()` write the answer: no middleware after it should set a body or rewrite the offload header, and custom backends must send an empty 200.',
  },
  {
    id: 'app-delivery-unexpected',
    layer: 'app',
    title: 'The app delivers otherwise than expected',
    seen: 'The app streamed the probe where `--expect` asked for offload (or offloaded where it asked for streaming), through the proxy as well as directly.',
    fix: 'Add a rule whose `sourceDir` or `sourceUrl` covers the probe storage (its `location` or `baseUrl`), with the backend of your proxy; with `auto`, the proxy must send `X-Sendfile-Type` (and `X-Accel-Mapping`) as docs/proxies/ shows, and its address must be in `trustedProxies`.',
  },
  {
    id: 'backend-proxy-mismatch',
    layer: 'app',
    title: 'The backend does not match the proxy',
    seen: 'The offload header reached the client from a proxy that reads another one: `X-Accel-Redirect` through Apache or lighttpd, or `X-Sendfile` through nginx or Caddy.',
    fix: "Use the backend of the proxy in front: `nginx` or `caddy` (X-Accel-Redirect), `apache` or `lighttpd` (X-Sendfile), or `auto` with `sendfile: 'apache' | 'lighttpd'`.",
  },
  {
    id: 'offload-without-proxy',
    layer: 'app',
    title: 'The app offloads, and no proxy was given',
    seen: 'Without `--public` the app is taken to be public itself, but it answered the probe with an offload header that only a proxy in front can act on.',
    fix: "Pass `--public` with the address clients use, through the proxy. If clients really reach the app directly, use `backend: 'stream'` (or `auto`, which streams when no proxy asks for offload).",
  },
  {
    id: 'proxy-unreachable',
    layer: 'proxy',
    title: 'The proxy does not answer',
    seen: 'The `--public` URL refused the connection, timed out or failed TLS.',
    fix: 'Start the proxy, check the public address and port; for a self-signed certificate pass `--insecure`.',
  },
  {
    id: 'proxy-cannot-reach-app',
    layer: 'proxy',
    title: 'The proxy cannot reach the app',
    seen: 'The proxy answered 502, 503 or 504 for the probe.',
    fix: 'Point the proxy at the address the app listens on: nginx `proxy_pass`, Apache `ProxyPass`, lighttpd `proxy.server` host and port, Caddy `reverse_proxy`.',
  },
  {
    id: 'proxy-not-routing-to-app',
    layer: 'proxy',
    title: 'The public URL does not reach the app',
    seen: 'Through the proxy, the probe URL answered an error status that did not come from the health-check route.',
    fix: 'Forward the public probe path to the app (the location or route that proxies to it must cover it), and keep the same path on both sides.',
  },
  {
    id: 'nginx-internal-location-missing',
    layer: 'proxy',
    title: 'nginx has no internal location for X-Accel-Redirect',
    seen: "nginx followed X-Accel-Redirect to a URI that no location of its own serves, so it forwarded the redirected request to the app: the public answer equals the app's own answer for that URI.",
    fix: "Add the location the rule's `destinationUrl` names: `location /protected/ { internal; alias /srv/files/; }` (trailing slash on both sides), as in docs/proxies/nginx.conf.",
  },
  {
    id: 'offload-target-not-found',
    layer: 'proxy',
    title: 'The proxy cannot find the file the app named',
    seen: "The proxy obeyed the offload header but answered 404 or 403: it looks for the file in another directory than the storage's, or refuses that directory.",
    fix: "Map the offload target onto the storage's directory: nginx `alias` (with trailing slashes) in the internal location, Caddy `root` in `handle_response`, Apache `XSendFilePath`, lighttpd `x-sendfile-docroot`; the app's rule (`destinationUrl` or `destinationDir`) must name the same place. Files must be readable by the proxy's user.",
  },
  {
    id: 'caddy-handle-response-missing',
    layer: 'proxy',
    title: 'Caddy does not act on X-Accel-Redirect',
    seen: 'X-Accel-Redirect reached the client from Caddy, with an empty body.',
    fix: 'Add the `@offload header X-Accel-Redirect *` matcher and its `handle_response @offload { … file_server }` block inside `reverse_proxy`, as in docs/proxies/Caddyfile.',
  },
  {
    id: 'apache-xsendfile-off',
    layer: 'proxy',
    title: 'mod_xsendfile is not enabled',
    seen: 'X-Sendfile reached the client from Apache, with an empty body.',
    fix: 'Install and load mod_xsendfile (`a2enmod xsendfile`, or `LoadModule xsendfile_module …`) and set `XSendFile On` with `XSendFilePath <files dir>` where the app is proxied, as in docs/proxies/apache.conf.',
  },
  {
    id: 'lighttpd-x-sendfile-off',
    layer: 'proxy',
    title: 'lighttpd does not act on X-Sendfile',
    seen: 'lighttpd answered the probe with an empty body: it drops an X-Sendfile header it was not told to act on (or passes it on, in other versions).',
    fix: 'Set `"x-sendfile" => "enable"` and `"x-sendfile-docroot" => ( "<files dir>" )` inside the `proxy.server` entry (not `proxy.header`), as in docs/proxies/lighttpd.conf.',
  },
  {
    id: 'offload-header-not-handled',
    layer: 'proxy',
    title: 'The proxy does not act on the offload header',
    seen: 'The offload header reached the client, with an empty body, from a proxy the doctor could not identify.',
    fix: "Enable the proxy's offload support for the app's answers (see docs/proxies/), or pass `--proxy` to name it.",
  },
  {
    id: 'proxy-serves-other-bytes',
    layer: 'proxy',
    title: 'The proxy sends other bytes',
    seen: 'Through the proxy the probe arrived with status 200 but other bytes than the probe content: another directory with a file of that name, a cache, or a filter rewriting the body.',
    fix: 'Point the internal location (or X-Sendfile directory) at the storage the app uses; exclude the probe path from caches and body filters (`sub_filter`, SSI, compression without `Content-Encoding`).',
  },
  {
    id: 'offload-header-leaked',
    layer: 'proxy',
    title: 'Offload headers reach the client',
    seen: 'The download arrived, but an `X-Accel-*`, `X-Sendfile` or `X-Offload-Url` header came with it: internal paths or settings are visible to clients.',
    fix: 'Drop them at the proxy: Apache `Header unset X-Sendfile`, nginx `proxy_hide_header`, lighttpd `setenv.set-response-header`, Caddy `header_down -X-…`; or use the backend of the proxy in front.',
  },
  {
    id: 'range-not-served',
    layer: 'proxy',
    title: 'Range requests are not served',
    seen: 'A `Range: bytes=…` request through the proxy got no 206 with the right `Content-Range` and bytes.',
    fix: 'Do not turn ranges off for the download location (nginx `max_ranges 0`, `proxy_force_ranges` off with a buffering filter, Apache `mod_deflate` on it); no body filter may apply to downloads.',
  },
  {
    id: 'internal-location-public',
    layer: 'proxy',
    title: 'The internal location can be requested directly',
    seen: 'Requesting the offload target (the X-Accel-Redirect URI, or the X-Sendfile path as a URL) directly on the public address returned the probe: any client can fetch any file there without the app.',
    fix: 'nginx: mark the location `internal;`. Apache, lighttpd, Caddy: do not serve the files directory by URL (only the offload header may reach it); see docs/proxies/.',
  },
  {
    id: 'proxy-forwards-offload-headers',
    layer: 'proxy',
    title: 'A client can configure offload',
    seen: "A client's own `X-Sendfile-Type` and `X-Accel-Mapping` request headers changed the answer: the proxy forwards them to an app that reads them (backend `auto`).",
    fix: 'Set or clear both headers at the proxy on every request: nginx `proxy_set_header X-Sendfile-Type …; proxy_set_header X-Accel-Mapping …;`, Apache `RequestHeader set`, lighttpd `setenv.set-request-header`, Caddy `header_up -X-Sendfile-Type` and `header_up -X-Accel-Mapping`.',
  },
] as const satisfies readonly (Diagnosis & { readonly id: DiagnosisId })[];

// Every identifier has its entry: a missing one fails to compile here.
type Missing = Exclude<DiagnosisId, (typeof TABLE)[number]['id']>;
const complete: [Missing] extends [never] ? true : Missing = true;
void complete;

/** The table of diagnoses, in the order of the checks that give them. */
export const DIAGNOSES: readonly Diagnosis[] = TABLE;

/**
 * The diagnosis with this identifier.
 *
 * @example
 * diagnosis('apache-xsendfile-off').layer; // 'proxy'
 */
export function diagnosis(id: DiagnosisId): Diagnosis {
  const found = DIAGNOSES.find((entry) => entry.id === id);
  if (found === undefined) throw new RangeError(`unknown diagnosis ${id}`);
  return found;
}
