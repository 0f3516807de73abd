const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Runs `stop` once when the process is asked to end (Ctrl-C, `kill`, npm forwarding a
 * signal, a closed terminal, the parent process gone), then exits: every server and child process the demo started is
 * stopped by it, none left running. A second signal while stopping exits at once.
 *
 * @example
 * stopOnSignals(async () => { await app.stop(); await s3.stop(); });
 */
export function stopOnSignals(stop: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (reason: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    console.log(`${reason}: stopping the demo and everything it started`);
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error('the demo did not stop cleanly:', err);
        process.exit(1);
      },
    );
  };
  for (const signal of SIGNALS) process.on(signal, onSignal);
  // `npm run` starts the demo through `sh -c`, and npm forwards a SIGTERM to that shell only:
  // the shell dies and the demo is handed to another parent. Seen here, it stops as if asked.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) onSignal('parent process gone');
  }, 500).unref();
}
