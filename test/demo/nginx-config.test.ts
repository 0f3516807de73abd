import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import { PUBLISHED_NGINX_CONF, renderNginxConfig } from '../../demo/nginx-proxy.ts';

const PLACES = { listenPort: 3000, upstreamPort: 4000, filesDir: '/srv/demo/', workDir: '/tmp/w' };

describe('demo:nginx configuration', () => {
  let published: string;
  before(async () => (published = await readFile(PUBLISHED_NGINX_CONF, 'utf8')));

  it('is docs/proxies/nginx.conf with its placeholders filled and every line kept', () => {
    const conf = renderNginxConfig(published, PLACES);
    expect(conf).to.not.match(/\{\{[A-Z_]+\}\}/);
    expect(conf).to.contain('listen 127.0.0.1:3000;');
    expect(conf).to.contain('proxy_pass http://127.0.0.1:4000;');
    expect(conf).to.contain('alias "/srv/demo/";');
    expect(conf).to.contain('proxy_set_header X-Accel-Mapping "/srv/demo/=/protected/";');
    const filled = published
      .replaceAll('{{LISTEN_PORT}}', '3000')
      .replaceAll('{{UPSTREAM_PORT}}', '4000')
      .replaceAll('{{FILES_DIR}}', '/srv/demo')
      .replaceAll('{{WORK_DIR}}', '/tmp/w');
    const kept = conf.split('\n');
    for (const line of filled.split('\n')) expect(kept).to.include(line);
  });

  it('adds the access log and the header that show the offload', () => {
    const conf = renderNginxConfig(published, PLACES);
    expect(conf).to.contain('access_log "/tmp/w/demo-access.log" demo;');
    expect(conf.match(/add_header X-Demo-Offload /g)).to.have.length(2);
  });

  it('refuses a published file that lost a line the demo adds to', () => {
    const changed = published.replace('location /remote/ {', 'location /elsewhere/ {');
    expect(() => renderNginxConfig(changed, PLACES)).to.throw(/no line/);
  });
});
