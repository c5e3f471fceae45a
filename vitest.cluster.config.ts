import { defineConfig } from "vitest/config";

// `npm run test:cluster`: the tests that need the local 3-node RabbitMQ cluster of ops/cluster/,
// which the global setup starts and stops. Apart from `npm test`, which never starts a cluster.
export default defineConfig({
  test: {
    include: ["test/cluster/**/*.test.ts"],
    globalSetup: ["test/helpers/global-setup.ts", "test/cluster/cluster-setup.ts"],
    pool: "forks",
    maxWorkers: 1,
    testTimeout: 180_000,
    hookTimeout: 240_000,
  },
});
