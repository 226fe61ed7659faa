import { ECSClient } from '@aws-sdk/client-ecs';
import { STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { modeLabel, parseChaosOptions, type ChaosOptionInput } from '../../../src/chaos/options.js';
import { chaosAction, type ChaosCliOptions } from '../../../src/commands/chaos.js';
import { ExitCode, UsageError } from '../../../src/errors.js';

const ecs = mockClient(ECSClient);
const sts = mockClient(STSClient);

/** What commander hands over with only the defaults. */
const defaults: ChaosOptionInput = { rps: '10', baseline: '5', settle: '15', timeout: '600', maxFailures: '0' };
const cli = (overrides: Partial<ChaosCliOptions>): ChaosCliOptions => ({ stack: 'demo', stateDir: mkdtempSync(join(tmpdir(), 'ecs-ha-chaos-opt-')), ...defaults, ...overrides });

beforeEach(() => {
  ecs.reset();
  sts.reset();
});

describe('parseChaosOptions', () => {
  it('turns the defaults into milliseconds and numbers', () => {
    expect(parseChaosOptions({ ...defaults, killOne: true })).toEqual({
      mode: { kind: 'kill-one' },
      rps: 10,
      baselineMs: 5_000,
      settleMs: 15_000,
      timeoutMs: 600_000,
      maxFailures: 0,
      force: false,
    });
  });

  it('takes --task with --kill-one (ID or ARN), --kill-az with an AZ, fractions of seconds and --force', () => {
    const arn = 'arn:aws:ecs:us-east-1:123456789012:task/demo/0f1e2d3c4b5a69788796a5b4c3d2e1f0';
    expect(parseChaosOptions({ ...defaults, killOne: true, task: arn }).mode).toEqual({ kind: 'kill-one', task: arn });
    expect(parseChaosOptions({ ...defaults, killOne: true, task: '0f1e2d3c4b5a69788796a5b4c3d2e1f0' }).mode).toEqual({ kind: 'kill-one', task: '0f1e2d3c4b5a69788796a5b4c3d2e1f0' });
    const az = parseChaosOptions({ ...defaults, killAz: 'eu-west-2c', baseline: '0.2', settle: '0', force: true, maxFailures: '3', rps: '100' });
    expect(az).toMatchObject({ mode: { kind: 'kill-az', az: 'eu-west-2c' }, baselineMs: 200, settleMs: 0, force: true, maxFailures: 3, rps: 100 });
    expect(modeLabel(az.mode)).toBe('kill-az eu-west-2c');
  });

  it('--kill-az is a zone drill: the zone restored by default with no hold; --hold in seconds, or --no-restore', () => {
    expect(parseChaosOptions({ ...defaults, killAz: 'us-east-1a' }).drill).toEqual({ holdMs: 0, restore: true });
    expect(parseChaosOptions({ ...defaults, killAz: 'us-east-1a', hold: '90', restore: true }).drill).toEqual({ holdMs: 90_000, restore: true });
    expect(parseChaosOptions({ ...defaults, killAz: 'us-east-1a', hold: '3600' }).drill).toEqual({ holdMs: 3_600_000, restore: true });
    expect(parseChaosOptions({ ...defaults, killAz: 'us-east-1a', restore: false }).drill).toEqual({ holdMs: 0, restore: false });
    // commander's default for --no-restore is restore: true, given with --kill-one too.
    expect(parseChaosOptions({ ...defaults, killOne: true, restore: true }).drill).toBeUndefined();
  });

  it.each([
    [{ killOne: true, killAz: 'us-east-1a' }, '--kill-one and --kill-az cannot be used together: give exactly one of them'],
    [{}, 'say what to stop: give exactly one of --kill-one or --kill-az <az>'],
    [{ killAz: 'us-east-1a', task: '0f1e2d3c4b5a69788796a5b4c3d2e1f0' }, '--task can only be used with --kill-one: --kill-az stops every running task in the AZ'],
    [{ killOne: true, task: 'not a task!' }, 'invalid --task "not a task!": expected a task ID (such as 0f1e2d3c4b5a69788796a5b4c3d2e1f0) or a task ARN'],
    [{ killAz: 'east' }, 'invalid --kill-az "east": expected an Availability Zone name such as us-east-1a'],
    [{ killOne: true, rps: '0' }, 'invalid --rps "0": expected a whole number from 1 to 100'],
    [{ killOne: true, rps: '101' }, 'invalid --rps "101": expected a whole number from 1 to 100'],
    [{ killOne: true, rps: '2.5' }, 'invalid --rps "2.5": expected a whole number from 1 to 100'],
    [{ killOne: true, baseline: '-1' }, 'invalid --baseline "-1": expected a number of seconds from 0 to 3600'],
    [{ killOne: true, settle: 'soon' }, 'invalid --settle "soon": expected a number of seconds from 0 to 3600'],
    [{ killOne: true, timeout: '0' }, 'invalid --timeout "0": expected a number of seconds from 1 to 86400'],
    [{ killOne: true, maxFailures: '-1' }, 'invalid --max-failures "-1": expected a whole number of at least 0'],
    [{ killOne: true, hold: '10' }, '--hold can only be used with --kill-az: it keeps the zone out of the service longer'],
    [{ killOne: true, restore: false }, '--no-restore can only be used with --kill-az: --kill-one takes no zone away'],
    [{ killAz: 'us-east-1a', restore: false, hold: '10' }, '--hold cannot be used with --no-restore: without the restore the zone stays out until `ecs-ha up`'],
    [{ killAz: 'us-east-1a', hold: '3601' }, 'invalid --hold "3601": expected a number of seconds from 0 to 3600'],
    [{ killAz: 'us-east-1a', hold: '-5' }, 'invalid --hold "-5": expected a number of seconds from 0 to 3600'],
    [{ killAz: 'us-east-1a', hold: 'long' }, 'invalid --hold "long": expected a number of seconds from 0 to 3600'],
  ] as Array<[Partial<ChaosOptionInput>, string]>)('refuses %o', (overrides, message) => {
    const run = () => parseChaosOptions({ ...defaults, ...overrides });
    expect(run).toThrow(UsageError);
    expect(run).toThrow(message);
  });
});

describe('chaosAction', () => {
  it.each([
    [{ killOne: true, killAz: 'us-east-1a' }, '--kill-one and --kill-az'],
    [{}, 'exactly one of --kill-one or --kill-az'],
    [{ killAz: 'us-east-1a', task: '0f1e2d3c4b5a69788796a5b4c3d2e1f0' }, '--task can only be used with --kill-one'],
    [{ killOne: true, rps: '0' }, 'invalid --rps "0"'],
    [{ killOne: true, stack: 'Bad_Name' }, 'invalid --stack "Bad_Name"'],
    [{ killOne: true, hold: '5' }, '--hold can only be used with --kill-az'],
    [{ killAz: 'us-east-1a', hold: '9999' }, 'invalid --hold "9999"'],
    [{ killOne: true, restore: false }, '--no-restore can only be used with --kill-az'],
  ] as Array<[Partial<ChaosCliOptions>, string]>)('exits 2 before any AWS call for %o', async (overrides, message) => {
    await expect(chaosAction(cli(overrides))).rejects.toMatchObject({ exitCode: ExitCode.usage, message: expect.stringContaining(message) });
    expect(ecs.calls()).toHaveLength(0);
    expect(sts.calls()).toHaveLength(0);
  });

  it('refuses --local when the local emulator of the stack is not running, without starting one or calling AWS', async () => {
    const options = cli({ killOne: true, local: true });
    await expect(chaosAction(options)).rejects.toMatchObject({ exitCode: ExitCode.failed, message: expect.stringContaining('the local AWS emulator for stack "demo" is not running') });
    expect(sts.calls()).toHaveLength(0);
    expect(existsSync(join(options.stateDir, 'demo.lock'))).toBe(false);
  });
});
