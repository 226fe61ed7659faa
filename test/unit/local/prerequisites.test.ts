import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExitCode } from '../../../src/errors.js';
import { checkLocalPrerequisites, timeScaleFromEnv } from '../../../src/local/emulator.js';

/** A stand-in for python3 that can import only the modules named. */
function fakePython(importable: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'ecs-ha-python-'));
  const path = join(dir, 'python3');
  const cases = importable.map((m) => `"import ${m}") exit 0 ;;`).join('\n  ');
  writeFileSync(path, `#!/bin/sh\ncase "$2" in\n  ${cases}\n  *) echo "ModuleNotFoundError: No module named x" >&2; exit 1 ;;\nesac\n`);
  chmodSync(path, 0o755);
  return path;
}

describe('what --local needs on the machine', () => {
  it('passes when moto, Flask and gunicorn import', () => {
    expect(() => checkLocalPrerequisites('/app', fakePython(['moto.server', 'flask', 'gunicorn']))).not.toThrow();
  });

  it('names a missing moto with the command that installs it (exit 3)', () => {
    const python = fakePython(['flask', 'gunicorn']);
    expect(() => checkLocalPrerequisites('/app', python)).toThrow(expect.objectContaining({ exitCode: ExitCode.environment, message: expect.stringContaining(`install it with \`${python} -m pip install 'moto[server]'\``) }));
  });

  it("names missing Flask or gunicorn with the app's requirements file", () => {
    const python = fakePython(['moto.server', 'flask']);
    expect(() => checkLocalPrerequisites('/srv/app', python)).toThrow(expect.objectContaining({ exitCode: ExitCode.environment, message: expect.stringContaining(`${python} -m pip install -r /srv/app/requirements.txt`) }));
  });

  it('names both when both are missing, and a missing python3 itself', () => {
    const python = fakePython([]);
    expect(() => checkLocalPrerequisites('/app', python)).toThrow(/moto\[server\].*; and .*requirements\.txt/);
    expect(() => checkLocalPrerequisites('/app', '/nonexistent/python3')).toThrow(expect.objectContaining({ exitCode: ExitCode.environment, message: expect.stringContaining('needs /nonexistent/python3, which was not found') }));
  });
});

describe('ECS_HA_LOCAL_TIME_SCALE', () => {
  it('defaults to real time and takes a number in (0, 1]', () => {
    expect(timeScaleFromEnv({})).toBe(1);
    expect(timeScaleFromEnv({ ECS_HA_LOCAL_TIME_SCALE: '0.1' })).toBe(0.1);
    expect(timeScaleFromEnv({ ECS_HA_LOCAL_TIME_SCALE: '1' })).toBe(1);
  });

  it.each(['0', '-1', '2', 'fast', 'NaN'])('refuses %s, naming the variable and what is allowed', (raw) => {
    expect(() => timeScaleFromEnv({ ECS_HA_LOCAL_TIME_SCALE: raw })).toThrow(expect.objectContaining({ exitCode: ExitCode.usage, message: expect.stringContaining(`invalid ECS_HA_LOCAL_TIME_SCALE "${raw}": expected a number greater than 0 and at most 1`) }));
  });
});
