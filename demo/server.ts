// `npm run demo`: the demo app on embedded defaults, with the S3 server it starts itself.
import { stopOnSignals } from './lifecycle.ts';
import { demoBackend, startDemo } from './start.ts';

// PORT=0 asks the system for a free port; the URL printed is the one actually bound.
const port = Number(process.env.PORT ?? 3000);
// DEMO_BACKEND=nginx (or apache, lighttpd, caddy) with that proxy in front, set up from
// docs/proxies/ with FILES_DIR = demo/files (`npm run demo:nginx` does it for nginx);
// redirect sends the S3 objects' downloads to presigned URLs; the default streams everything.
const backend = demoBackend('stream');
const demo = await startDemo({ backend, port });
stopOnSignals(demo.stop);
console.log(`koa-downloadview demo (${backend}) listening on ${demo.url}`);
console.log('Ctrl-C stops it and the embedded S3 server; one line per download follows.');
