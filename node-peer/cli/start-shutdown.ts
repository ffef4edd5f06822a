/**
 * One Ctrl-C often arrives twice: the terminal signals the whole foreground process group, and a
 * launcher in it (npm/npx) forwards the signal to its child as well. A repeat this soon after the
 * first is that same press; a later one is the user insisting.
 */
const REPEAT_WINDOW_MS = 500;

/** Exit code of a stop the user cut short with a second signal (128 + its number, as shells report). */
const forcedExitCode = (signal: NodeJS.Signals): number => (signal === 'SIGTERM' ? 143 : 130);

/**
 * On SIGINT/SIGTERM runs `stop` once, then exits with its code (0 for a clean stop: README, exit
 * codes). A second signal after `REPEAT_WINDOW_MS` exits at once without waiting for the graceful path.
 */
export function onStopSignals(stop: (signal: NodeJS.Signals) => Promise<number>, now: () => number = Date.now): void {
  let firstAt: number | null = null;
  const handle = (signal: NodeJS.Signals): void => {
    if (firstAt === null) {
      firstAt = now();
      stop(signal).then(
        (code) => process.exit(code),
        (err: unknown) => {
          process.stderr.write(`error: while stopping: ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}\n`);
          process.exit(1);
        },
      );
      return;
    }
    if (now() - firstAt >= REPEAT_WINDOW_MS) process.exit(forcedExitCode(signal));
  };
  process.on('SIGINT', handle);
  process.on('SIGTERM', handle);
}
