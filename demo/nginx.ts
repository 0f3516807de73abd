// `npm run demo:nginx`: the demo app behind the real nginx, configured from
// docs/proxies/nginx.conf, so the filesystem and S3 downloads are offloaded to nginx.
import { freePort } from '../support/s3-server.ts';
import { stopOnSignals } from './lifecycle.ts';
import { findNginx, startNginx } from './nginx-proxy.ts';
import { demoBackend, startDemo } from './start.ts';
import { DEMO_FILES } from './storages.ts';

const nginxBinary = findNginx();
if (!nginxBinary) {
  console.error(
    'npm run demo:nginx needs nginx, which is not installed (on Debian or Ubuntu: ' +
      'apt-get install nginx; or set NGINX=/path/to/nginx). `npm run demo` runs without it.',
  );
  process.exit(1);
}
// PORT is nginx's (what the browser opens); 0 picks a free one. The app gets a free port.
const port = Number(process.env.PORT ?? 3000) || (await freePort());
// nginx offloads by the app's rules (nginx) or by its own X-Accel-Mapping (auto).
const backend = demoBackend('nginx', ['nginx', 'auto', 'stream', 'redirect']);
const demo = await startDemo({ backend, port: 0, proxy: 'nginx' });
const nginx = await startNginx(nginxBinary, {
  listenPort: port,
  upstreamPort: demo.port,
  filesDir: DEMO_FILES,
}).catch(async (err: unknown) => {
  await demo.stop();
  throw err;
});
let stopping = false;
stopOnSignals(async () => {
  stopping = true;
  await nginx.stop();
  await demo.stop();
});
void nginx.exited.then(async () => {
  if (stopping) return;
  console.error('nginx exited: stopping the demo');
  await demo.stop();
  process.exit(1);
});
console.log(`nginx (pid ${nginx.pid}) in front of the demo app on ${demo.url}`);
console.log(`nginx access log, with the X-Accel-Redirect it obeyed: ${nginx.accessLog}`);
console.log(
  'check this deployment: npm run doctor -- ' +
    `--app ${demo.url}health/download --public http://127.0.0.1:${port}/health/download`,
);
console.log(
  `koa-downloadview demo (${backend}) behind nginx listening on http://127.0.0.1:${port}/`,
);
