import { describe, expect, it } from 'vitest';
import { ExitCode } from '../../../src/errors.js';
import { timeScaleFromEnv } from '../../../src/local/emulator.js';

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
