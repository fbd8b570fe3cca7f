import { readFileSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

const packageVersion = (JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { version: string }).version;

// Two projects: fast unit tests with aws-sdk-client-mock, and integration tests against real
// parts (dynalite, the KMS fixture, SQLite, the machine's PostgreSQL and MariaDB, the CLI as a real process).
export default defineConfig({
  // What esbuild.config.mjs puts into the CLI bundle, for tests that run src/cli/main.ts in-process.
  define: { __CREDSTASH_VERSION__: JSON.stringify(packageVersion) },
  test: {
    globalSetup: ['./test/global-setup.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.int.test.ts', 'test/adversarial/**/*.test.ts', 'test/contract/**/*.int.test.ts'],
          environment: 'node',
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
