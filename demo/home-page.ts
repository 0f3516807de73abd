import { DEMO_VIDEO, SECTIONS, type DemoLink, type DemoProxy } from './catalogue.ts';
import type { ServedDownload } from './served-by.ts';

/** What the page says about how this demo runs. */
export interface PageContext {
  /** The app-wide backend (DEMO_BACKEND). */
  backend: string;
  /** The proxy in front, when the demo was started behind one (demo:nginx). */
  proxy: DemoProxy | undefined;
  /** The embedded S3 server's bucket URL, when it runs. */
  s3: string | undefined;
}

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Links the page shows in this context: S3 ones only when the S3 server runs. */
export function visibleLinks(context: PageContext): DemoLink[] {
  return SECTIONS.flatMap((s) => s.links).filter((link) => !link.s3 || context.s3);
}

/** The home page: every download, what it shows, and who served the last ones. */
export function homePage(context: PageContext): string {
  const sections = SECTIONS.map((section) => {
    const links = section.links.filter((link) => !link.s3 || context.s3);
    return `<section><h2>${escape(section.title)}</h2><p>${escape(section.intro)}</p>
<table>${links.map((link) => linkRow(link, context)).join('\n')}</table></section>`;
  });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>koa-downloadview demo</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>${STYLE}</style></head>
<body><header><h1>koa-downloadview demo</h1>${setup(context)}</header>
<main><section class="served"><h2>Last downloads</h2>
<p>Who sent the bytes of each answer, from the library's download events (<code>onDownload</code>): what Node sent and in how long, or the hand-off to the proxy (refreshed every 2 s).</p>
<iframe src="/_demo/served" title="Last downloads"></iframe></section>
<section><h2>Streaming with ranges</h2>
<p>An HTML5 video streamed by Koa: the browser asks for byte ranges as it plays and seeks,
and each one is answered <code>206 Partial Content</code> (see the panel above).</p>
<video controls preload="metadata" src="${DEMO_VIDEO}" width="320" height="240"></video></section>
${sections.join('\n')}
<section><h2>Try it another way</h2><ul>
<li><code>npm run demo:nginx</code>: the real nginx in front, configured from docs/proxies/nginx.conf;
the filesystem and S3 downloads are then sent by nginx (its answers carry <code>X-Demo-Offload</code>).</li>
<li><code>DEMO_BACKEND=redirect npm run demo</code>: every S3 download becomes a 302 to a presigned URL.</li>
<li><code>DEMO_BACKEND=auto npm run demo:nginx</code>: nginx itself says how to offload, in request headers.</li>
<li><code>curl -i -r 0-9 http://…/memory/big.bin</code> shows a range; <code>curl -i http://…/nginx/hello.txt</code>
the header a proxy reads.</li></ul></section></main></body></html>`;
}

function setup(context: PageContext): string {
  const proxy = context.proxy
    ? `<strong>${context.proxy}</strong> in front, configured from docs/proxies/`
    : 'no proxy in front (<code>npm run demo:nginx</code> puts nginx there)';
  const s3 = context.s3
    ? `embedded S3 server at <code>${escape(context.s3)}</code>`
    : 'no S3 server';
  return `<p class="setup">Backend <code>${escape(context.backend)}</code> · ${proxy} · ${s3}</p>`;
}

function linkRow(link: DemoLink, context: PageContext): string {
  const note =
    link.needs && link.needs !== context.proxy ? emptyNote(link.needs, context.proxy) : '';
  const what = link.outcome === 'inline' ? 'opens' : link.outcome === 'refused' ? '403' : 'saves';
  return `<tr><td><a href="${encodeURI(link.href)}">${escape(link.href)}</a></td>
<td><span class="tag ${link.outcome}">${what}</span></td><td>${escape(link.shows)}${note}</td></tr>`;
}

function emptyNote(needs: DemoProxy, proxy: DemoProxy | undefined): string {
  // Both read X-Accel-Redirect: nginx serves the file the caddy wrapper names.
  if (needs === 'caddy' && proxy === 'nginx') {
    return ' <em>nginx obeys this X-Accel-Redirect too, so nginx sends the file.</em>';
  }
  return ` <em>Without ${needs} in front the saved file is empty: the header is the answer.</em>`;
}

/** The "last downloads" panel, reloaded by the browser itself (no script). */
export function servedPanel(recent: readonly ServedDownload[], context: PageContext): string {
  const rows = recent.map(
    (d) => `<tr><td>${d.at.toISOString().slice(11, 19)}</td><td>${escape(d.path)}</td>
<td>${d.range ? escape(d.range) : ''}</td><td class="status">${d.status}</td>
<td><strong>${escape(byWhom(d, context))}</strong></td>
<td>${escape(d.how)}${d.sent ? `<br><small>Node sent ${escape(d.sent)}</small>` : ''}</td></tr>`,
  );
  const body = rows.length
    ? `<table><tr><th>time</th><th>path</th><th>Range</th><th>status</th><th>sent by</th><th>how</th></tr>${rows.join('')}</table>`
    : '<p>Nothing downloaded yet: click a link below.</p>';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="2"><style>${STYLE}</style></head><body class="panel">${body}</body></html>`;
}

function byWhom(download: ServedDownload, context: PageContext): string {
  if (download.by !== 'the proxy') return download.by;
  return context.proxy ?? 'nobody (no proxy in front)';
}

const STYLE = `
body { font: 15px/1.45 system-ui, sans-serif; margin: 0; color: #1d2430; background: #f6f7f9; }
header { background: #1d2430; color: #fff; padding: 1rem 2rem; }
header h1 { margin: 0; font-size: 1.5rem; }
.setup { margin: .3rem 0 0; color: #c9d1dc; }
.setup code, .setup strong { color: #fff; }
main { max-width: 70rem; margin: 0 auto; padding: 1rem 2rem 3rem; }
section { background: #fff; border: 1px solid #dde2e8; border-radius: 6px; padding: .5rem 1.2rem 1rem; margin: 1rem 0; }
h2 { font-size: 1.15rem; margin: .6rem 0 .2rem; }
section > p { margin: 0 0 .6rem; color: #4a5563; }
li { margin: .25rem 0; }
table { border-collapse: collapse; width: 100%; }
td, th { padding: .3rem .5rem; border-top: 1px solid #eef1f4; vertical-align: top; text-align: left; }
td:first-child { white-space: nowrap; }
a { color: #0b5cad; }
em { color: #8a5a00; font-style: normal; }
.tag { font-size: .75rem; padding: .05rem .4rem; border-radius: 3px; background: #e4eefa; }
.tag.inline { background: #e6f4e6; } .tag.refused { background: #fbe4e4; }
iframe { width: 100%; height: 15rem; border: 0; }
body.panel { background: #fff; font-size: 13px; }
.status { font-variant-numeric: tabular-nums; }
code { background: #eef1f4; padding: 0 .25rem; border-radius: 3px; }
header code { background: #34404f; }
`;
