/**
 * The order files start in. vitest runs the longest first when it has timed them before (its
 * cache), else the largest first; a fresh clone (CI) has no cache, and a file's size says little
 * of how long it takes (crash.test.ts is small and one of the longest). Two workers finish soonest
 * when the long files start first, so the end-to-end files go longest first, by the seconds they
 * took in a full run on 2 cores; a file not in the table is taken for long and starts first. The
 * unit tests follow (a project of their own, seconds in all).
 */
import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** Seconds each end-to-end file took in a full `npm test` on 2 cores (re-measure when they change a lot). */
const E2E_SECONDS: Record<string, number> = {
  'test/e2e/local.test.ts': 77,
  'test/e2e/crash.test.ts': 56,
  'test/e2e/deploy.test.ts': 50,
  'test/e2e/autoscaling.test.ts': 44,
  'test/e2e/zoneDrill.test.ts': 36,
  'test/e2e/lifecycle.test.ts': 35,
  'test/e2e/status.test.ts': 32,
  'test/e2e/plan.test.ts': 30,
  'test/e2e/cli.test.ts': 28,
  'test/e2e/python.test.ts': 24,
  'test/e2e/install.test.ts': 21,
  'test/e2e/verify.test.ts': 19,
  'test/e2e/security.test.ts': 16,
  'test/e2e/terminal.test.ts': 14,
  'test/e2e/strategies.test.ts': 14,
  'test/e2e/files.test.ts': 11,
  'test/e2e/policy.test.ts': 10,
  'test/e2e/ownership.test.ts': 9,
  'test/e2e/preflight.test.ts': 9,
  'test/e2e/report.test.ts': 2,
};

export default class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const seconds = (file: TestSpecification): number => E2E_SECONDS[relative(this.ctx.config.root, file.moduleId)] ?? Number.POSITIVE_INFINITY;
    const e2e = sorted.filter((file) => file.project.name === 'e2e').sort((a, b) => seconds(b) - seconds(a));
    return [...e2e, ...sorted.filter((file) => file.project.name !== 'e2e')];
  }
}
