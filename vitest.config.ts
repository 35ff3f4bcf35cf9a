import { defineConfig } from "vitest/config";

/**
 * Two groups: fast unit tests run first, in parallel; system tests (real processes, servers,
 * browsers, training) run after them with limited parallelism, so that a 2-core machine is not
 * asked to run several stacks at once.
 */
const SYSTEM = [
  "test/**/*.test.ts",
  "**/*.process.test.ts",
  "**/*.browser.test.ts",
  "**/*.smoke.test.ts",
  "**/*.system.test.ts",
];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 180_000,
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["{apps,packages}/**/*.test.ts"],
          exclude: ["**/node_modules/**", "**/dist/**", ...SYSTEM],
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: "system",
          include: SYSTEM,
          exclude: ["**/node_modules/**", "**/dist/**"],
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
