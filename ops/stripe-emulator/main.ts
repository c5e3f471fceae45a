import { readEmulatorConfig, UsageError, usage } from "./config.ts";
import { startStripeEmulator } from "./server.ts";

// `npm run stripe-emulator`: the emulator as a standalone process for the demo and the benchmark.

const forceExitAfterMs = 5000;

async function main(): Promise<void> {
  let config: ReturnType<typeof readEmulatorConfig>;
  try {
    config = readEmulatorConfig(process.argv.slice(2), process.env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`stripe-emulator: ${error.message}`);
    process.exitCode = 2;
    return;
  }
  if (config === "help") {
    console.log(usage);
    return;
  }
  const emulator = await startStripeEmulator(config);
  const webhooks =
    config.webhookUrl === undefined
      ? "no webhook URL: events are only recorded"
      : `webhooks → ${config.webhookUrl}`;
  console.log(`stripe-emulator listening on ${emulator.url} (${webhooks})`);

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      console.error(`stripe-emulator: ${signal} again, exiting now`);
      process.exit(1);
    }
    stopping = true;
    // A stuck socket must not keep a stopped emulator alive.
    setTimeout(() => process.exit(1), forceExitAfterMs).unref();
    emulator.close().then(
      () => console.log("stripe-emulator stopped"),
      (error: unknown) => {
        console.error("stripe-emulator: close failed", error);
        process.exitCode = 1;
      },
    );
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((error: unknown) => {
  console.error("stripe-emulator: failed to start:", error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
