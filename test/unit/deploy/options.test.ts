import { describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { parseDeployOptions, parseMeasureOptions, type DeployOptionInput } from '../../../src/deploy/options.js';
import { ExitCode, UsageError } from '../../../src/errors.js';

const defaults: DeployOptionInput = { rps: '10', baseline: '5', settle: '15', timeout: '900', maxFailures: '0' };

function refusal(input: Partial<DeployOptionInput>): UsageError {
  try {
    parseDeployOptions({ ...defaults, ...input }, 'demo');
  } catch (error) {
    if (error instanceof UsageError) return error;
    throw error;
  }
  throw new Error('accepted');
}

describe('deploy options', () => {
  it('turns the defaults into milliseconds and numbers, no strategy asked for (the stack\'s), nothing asked of the release', () => {
    expect(parseDeployOptions(defaults, 'demo')).toEqual({ rps: 10, baselineMs: 5_000, settleMs: 15_000, timeoutMs: 900_000, maxFailures: 0, release: {} });
  });

  it('keeps --strategy with its settings, and which settings were given', () => {
    expect(parseDeployOptions({ ...defaults, strategy: 'canary', canaryPercent: '5' }, 'demo').strategy).toEqual({
      settings: { strategy: 'canary', bakeMinutes: 2, canaryPercent: 5, canaryBakeMinutes: 3 },
      given: ['canaryPercent'],
    });
    expect(parseDeployOptions({ ...defaults, strategy: 'rolling' }, 'demo').strategy).toEqual({ settings: { strategy: 'rolling' }, given: [] });
  });

  it('keeps what the release asks for; --app-dir resolved against the working directory', () => {
    const parsed = parseDeployOptions({ ...defaults, appVersion: '2.1-rc+1', appDir: 'some/app', strategy: 'rolling', baseline: '0.5' }, 'demo');
    expect(parsed.release).toEqual({ appVersion: '2.1-rc+1', appDir: resolve('some/app') });
    expect(parsed.baselineMs).toBe(500);
    expect(parseDeployOptions({ ...defaults, image: 'public.ecr.aws/x/app:2' }, 'demo').release).toEqual({ image: 'public.ecr.aws/x/app:2' });
  });

  it.each([
    [{ rps: '0' }, 'invalid --rps "0": expected a whole number from 1 to 100'],
    [{ rps: '101' }, 'invalid --rps "101": expected a whole number from 1 to 100'],
    [{ maxFailures: '-1' }, 'invalid --max-failures "-1": expected a whole number of at least 0'],
    [{ timeout: '0' }, 'invalid --timeout "0": expected a number of seconds from 1 to 86400'],
    [{ baseline: 'soon' }, 'invalid --baseline "soon": expected a number of seconds from 0 to 3600'],
    [{ settle: '3601' }, 'invalid --settle "3601": expected a number of seconds from 0 to 3600'],
    [{ appVersion: 'v 2' }, 'invalid --app-version "v 2": use at most 64 letters, digits and . _ + -'],
    [{ image: '-bad' }, 'invalid --image "-bad": expected an image reference such as 123456789012.dkr.ecr.us-east-1.amazonaws.com/app:tag'],
    [{ strategy: 'big-bang' }, 'invalid --strategy "big-bang": expected one of rolling, blue-green, linear, canary'],
    [{ image: 'repo/app:2', appDir: 'app' }, '--image and --app-dir cannot be used together: --image deploys a prebuilt image, --app-dir builds one from a folder'],
  ])('refuses %j: %s', (input, message) => {
    const error = refusal(input);
    expect(error.message).toBe(message);
    expect(error.exitCode).toBe(ExitCode.usage);
  });

  it.each([
    [{ strategy: 'canary', canaryPercent: '0' }, 'invalid --canary-percent "0": ECS allows multiples of 0.1 from 0.1 to 100.0'],
    [{ strategy: 'linear', stepPercent: '2' }, 'invalid --step-percent "2": ECS allows multiples of 0.1 from 3.0 to 100.0'],
    [{ strategy: 'blue-green', bakeMinutes: '1441' }, 'invalid --bake-minutes "1441": ECS allows a whole number of minutes from 0 to 1440 (24 hours)'],
    [{ strategy: 'linear', canaryBakeMinutes: '1' }, '--canary-bake-minutes is not a setting of --strategy linear: it applies to canary'],
    [{ stepBakeMinutes: '1' }, '--step-bake-minutes needs --strategy: it is a setting of the linear strategy'],
  ])('refuses the strategy setting %j against ECS\'s ranges: %s', (input, message) => {
    const error = refusal(input);
    expect(error.message).toBe(message);
    expect(error.exitCode).toBe(ExitCode.usage);
  });

  it.each(['blue-green', 'linear', 'canary'])('refuses --strategy %s with --local: the local data plane deploys rolling only', (strategy) => {
    expect(() => parseDeployOptions({ ...defaults, strategy }, 'demo', true)).toThrow(expect.objectContaining({ exitCode: ExitCode.usage, message: `--strategy ${strategy} with --local: the local data plane deploys rolling only (it has no listener rule whose weights ECS could shift)` }));
    expect(parseDeployOptions({ ...defaults, strategy: 'rolling' }, 'demo', true).strategy?.settings).toEqual({ strategy: 'rolling' });
  });

  it('rollback takes the measuring options only, validated the same way', () => {
    expect(parseMeasureOptions({ rps: '20', baseline: '1', settle: '2', timeout: '60', maxFailures: '3' })).toEqual({ rps: 20, baselineMs: 1_000, settleMs: 2_000, timeoutMs: 60_000, maxFailures: 3 });
    expect(() => parseMeasureOptions({ ...defaults, rps: '1.5' })).toThrow('invalid --rps "1.5"');
  });
});
