import createDebug, { type Debugger } from 'debug';

/**
 * Debug output the way Koa and @koa/router give theirs: the `debug` package, switched on with
 * `DEBUG=koa-downloadview:*` (or one area, `DEBUG=koa-downloadview:nginx`). Off, a call costs
 * one property read.
 *
 * @example
 * const debug = debugFor('middleware');
 * debug('%s %s via %s', ctx.method, file.filename, backend.name);
 */
export function debugFor(area: string): Debugger {
  return createDebug(`koa-downloadview:${area}`);
}
