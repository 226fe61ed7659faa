import { describe, expect, it } from 'vitest';
import { parseInteger, validateFargateSize, validateLogRetention, validateRegion, validateStackName } from '../../../src/config.js';
import { ExitCode } from '../../../src/errors.js';

function usageMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toMatchObject({ exitCode: ExitCode.usage });
    return (error as Error).message;
  }
  throw new Error('expected a UsageError');
}

describe('input validation', () => {
  it('accepts stack names AWS accepts everywhere they are used', () => {
    for (const name of ['ecs-ha', 'a', 'demo-2', 'x'.repeat(28)]) expect(validateStackName(name)).toBe(name);
  });

  it.each([
    ['Demo', 'lowercase'],
    ['demo_1', 'lowercase'],
    ['1demo', 'starting with a letter'],
    ['demo-', 'not ending with a hyphen'],
    ['de--mo', 'single hyphens'],
    ['x'.repeat(29), 'at most 28'],
  ])('refuses stack name %s', (name, expected) => {
    expect(usageMessage(() => validateStackName(name))).toContain(expected);
  });

  it('checks Fargate cpu/memory pairs and names the allowed range', () => {
    expect(() => validateFargateSize(256, 512)).not.toThrow();
    expect(() => validateFargateSize(1024, 8192)).not.toThrow();
    expect(() => validateFargateSize(8192, 20480)).not.toThrow();
    expect(usageMessage(() => validateFargateSize(256, 4096))).toBe(
      'invalid --memory 4096 for --cpu 256: Fargate allows 512, 1024, 2048 MiB for 256 CPU units',
    );
    expect(usageMessage(() => validateFargateSize(8192, 18432))).toContain('16384 to 61440 MiB in steps of 4096');
    expect(usageMessage(() => validateFargateSize(512, 1536))).toContain('1024 to 4096 MiB in steps of 1024');
    expect(usageMessage(() => validateFargateSize(256, 1536))).toContain('512, 1024, 2048 MiB');
    expect(usageMessage(() => validateFargateSize(300, 512))).toContain('Fargate allows 256, 512, 1024');
  });

  it('parses whole numbers within bounds only', () => {
    expect(parseInteger('--count', '3', 1)).toBe(3);
    expect(usageMessage(() => parseInteger('--count', '0', 1))).toBe('invalid --count "0": expected a whole number of at least 1');
    expect(usageMessage(() => parseInteger('--count', '1.5', 1))).toContain('whole number');
    expect(usageMessage(() => parseInteger('--count', 'two', 1))).toContain('whole number');
    expect(usageMessage(() => parseInteger('--count', '101', 1, 100))).toBe('invalid --count "101": expected a whole number from 1 to 100');
  });

  it('checks regions and log retention', () => {
    expect(validateRegion('eu-central-1')).toBe('eu-central-1');
    expect(validateRegion('us-gov-west-1')).toBe('us-gov-west-1');
    expect(usageMessage(() => validateRegion('mars-1'))).toContain('us-east-1');
    expect(validateLogRetention('14')).toBe(14);
    expect(usageMessage(() => validateLogRetention('10'))).toContain('1, 3, 5, 7, 14');
  });
});
