import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    // End-to-end tests start the CLI and a moto server as subprocesses.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // e2e files share one emulator per file; keep files from starving the 2-core machine.
    maxWorkers: 2,
  },
});
