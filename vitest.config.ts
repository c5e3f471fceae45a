import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // they need the local RabbitMQ cluster: `npm run test:cluster` (vitest.cluster.config.ts)
    exclude: [...configDefaults.exclude, "test/cluster/**"],
    globalSetup: ["test/helpers/global-setup.ts"],
    pool: "forks",
    // Two cores: two files at a time; each file has its own database and vhost.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    coverage: {
      provider: "v8",
      include: ["lib/**/*.ts", "workers/**/*.ts"],
      reporter: ["text-summary", "text"],
      thresholds: {
        lines: 80,
        "lib/domain/**": { lines: 95 },
      },
    },
  },
});
