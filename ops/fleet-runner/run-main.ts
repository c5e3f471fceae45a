import type { Fleet } from "./fleet.ts";

// The process shell shared by `npm run demo` and `npm run bench`: main's exit code, Ctrl-C stops
// the fleet (a second one kills it), and whatever ends this process, no child outlives it.

/** Runs `main` as the whole process; `fleet()` is the fleet it has started so far, if any. */
export function runFleetMain(options: {
  name: string;
  main: () => Promise<number>;
  fleet: () => Fleet | undefined;
  /** Called once on the first signal, before the note is printed (e.g. to close a progress bar). */
  onSignal?: () => void;
  /**
   * The exit status after a signal when the run already knows its own (the demo's `--keep` waits
   * for Ctrl-C after its checks); undefined: 128 + the signal's number.
   */
  statusAfterSignal?: () => number | undefined;
}): void {
  const { name, fleet } = options;
  // The exit status after a signal (128 + its number); undefined until one arrives.
  let signalled: number | undefined;
  const shutdown = async (code: number): Promise<never> => {
    await fleet()
      ?.stopAll()
      .catch(() => undefined);
    process.exit(code);
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      if (signalled !== undefined) {
        fleet()?.killAllNow();
        process.exit(signalled);
      }
      signalled = options.statusAfterSignal?.() ?? (signal === "SIGINT" ? 130 : 143);
      options.onSignal?.();
      process.stdout.write(`\n${signal}: stopping the fleet…\n`);
      void shutdown(signalled);
    });
  }
  process.on("exit", () => fleet()?.killAllNow());

  options.main().then(
    (code) => shutdown(signalled ?? code),
    (error: unknown) => {
      // after Ctrl-C, what fails is only the run being cut short
      if (signalled !== undefined) return shutdown(signalled);
      process.stdout.write("\n");
      console.error(`${name} failed: ${error instanceof Error ? error.message : String(error)}`);
      const logDir = fleet()?.logDir;
      if (logDir !== undefined) console.error(`logs: ${logDir}`);
      return shutdown(1);
    },
  );
}
