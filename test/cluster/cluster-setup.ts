import { clusterScript } from "./local-cluster.ts";

// vitest globalSetup of `npm run test:cluster`: the local 3-node cluster for the run, stopped and
// removed afterwards unless it was already running (someone trying things by hand keeps theirs).

export default async function setup(): Promise<() => Promise<void>> {
  const wasRunning = await clusterScript(["start"], 240_000).then((out) => out.includes("already running"));
  return async () => {
    if (!wasRunning) await clusterScript(["stop"], 120_000);
  };
}
