import { createDemoApp } from './app.ts';
import type { AddressInfo } from 'node:net';

// PORT=0 asks the system for a free port; the URL printed is the one actually bound.
const port = Number(process.env.PORT ?? 3000);
const server = createDemoApp().listen(port, '127.0.0.1', () => {
  const { port: bound } = server.address() as AddressInfo;
  console.log(`koa-downloadview demo listening on http://127.0.0.1:${bound}/`);
});
