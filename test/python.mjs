#!/usr/bin/env node
// npm run test:container: the container app's pytest suite, run with the Python `--local` and the
// vitest run use (the base interpreter, or ecs-ha's own environment with pytest added).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
let python;
try {
  ({ python } = await import('../dist/local/python.js').then(({ PYTEST_REQUIREMENT, resolvePython }) =>
    resolvePython({ requirementsDir: `${root}container`, extras: [PYTEST_REQUIREMENT], onProgress: (text) => console.error(text) }),
  ));
} catch (error) {
  if (error?.code === 'ERR_MODULE_NOT_FOUND') {
    console.error('test:container: dist/local/python.js is missing: run `npm run build` first');
    process.exit(1);
  }
  console.error(`error: ${error.message}${error.hint ? `\n  hint: ${error.hint}` : ''}`);
  process.exit(error.exitCode ?? 1);
}
const result = spawnSync(python, ['-m', 'pytest', '-q', 'container/tests'], { cwd: root, stdio: 'inherit' });
if (result.error) console.error(`test:container: cannot run ${python}: ${result.error.message}`);
process.exit(result.status ?? 1);
