/**
 * Skips the current test or suite because something this host lacks (a binary, IPv6) is
 * needed: loudly, and never on CI (`CI=true`), where the check must run or fail instead of
 * passing by doing nothing.
 * @example
 * try { await execFile('mkfifo', [path]); } catch { return skipOrFail(this, 'mkfifo is not installed'); }
 */
export function skipOrFail(ctx: Mocha.Context, reason: string): never {
  if (process.env.CI === 'true') throw new Error(`${reason}, and CI=true requires it`);
  console.warn(`\n  !!! SKIPPING "${ctx.currentTest?.title ?? ctx.test?.title}": ${reason}.\n`);
  return ctx.skip();
}
