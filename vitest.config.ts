import { defineConfig } from 'vitest/config';
import LongestFirst from './test/setup/sequencer.js';

export default defineConfig({
  test: {
    environment: 'node',
    // The Python of --local (with pytest): first on PATH and in ECS_HA_PYTHON for every test and CLI run.
    globalSetup: ['test/setup/python.ts'],
    // AWS_ENDPOINT_URL: a call a unit test forgot to mock goes to a closed local port and fails there,
    // never to AWS. (End-to-end tests give each CLI run its own environment.)
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', AWS_ENDPOINT_URL: 'http://127.0.0.1:9' },
    // End-to-end tests start the CLI and a moto server as subprocesses.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // e2e files share one emulator per file; keep files from starving the 2-core machine.
    maxWorkers: 2,
    // The long end-to-end files first, also in a fresh clone with no timings of earlier runs.
    sequence: { sequencer: LongestFirst },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          // One module cache per worker instead of one per file: the SDK is loaded once, not 80
          // times (the unit tests take a third of the time). Mocked clients are restored after each file.
          isolate: false,
          setupFiles: ['test/setup/clientMocks.ts'],
        },
      },
      { extends: true, test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'] } },
    ],
  },
});
