/**
 * vitest globalSetup: the test run uses the Python `--local` uses (src/local/python.ts), with pytest
 * added: the base interpreter when it has every pin, else ecs-ha's own environment (made once, in
 * the user's cache folder). Its folder goes first on PATH and into ECS_HA_PYTHON, so that every
 * `python3` a test starts, and every CLI run a test starts, is that one.
 */
import { delimiter, dirname, resolve } from 'node:path';
import { EcsHaError } from '../../src/errors.js';
import { PYTEST_REQUIREMENT, PYTHON_VARIABLE, resolvePython } from '../../src/local/python.js';

export default async function setup(): Promise<void> {
  try {
    const { python } = await resolvePython({
      requirementsDir: resolve('container'),
      extras: [PYTEST_REQUIREMENT],
      onProgress: (text) => process.stderr.write(`ecs-ha tests: ${text}\n`),
    });
    process.env.PATH = [dirname(python), process.env.PATH].filter(Boolean).join(delimiter);
    process.env[PYTHON_VARIABLE] = python;
  } catch (error) {
    // The same words as the CLI's: what is missing and the one command that installs it.
    if (error instanceof EcsHaError) throw new Error(`the tests need Python: ${error.message}${error.hint ? `\n  hint: ${error.hint}` : ''}`);
    throw error;
  }
}
