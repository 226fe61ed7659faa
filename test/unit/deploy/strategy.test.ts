import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/errors.js';
import { deploymentConfigurationFor, deploymentMatches, parseDeploymentSettings, wantedDeployment } from '../../../src/deploy/strategy.js';

describe('deployment strategy settings', () => {
  it('keeps the rolling deploymentConfiguration stacks always had', () => {
    expect(deploymentConfigurationFor({ strategy: 'rolling' })).toEqual({ minimumHealthyPercent: 100, maximumPercent: 200, deploymentCircuitBreaker: { enable: true, rollback: true } });
  });

  it('builds the native configurations as the API reference names them', () => {
    expect(deploymentConfigurationFor(parseDeploymentSettings({ strategy: 'blue-green', bakeMinutes: '5' })!)).toEqual({ strategy: 'BLUE_GREEN', bakeTimeInMinutes: 5 });
    expect(deploymentConfigurationFor(parseDeploymentSettings({ strategy: 'linear', stepPercent: '12.5', stepBakeMinutes: '1' })!)).toEqual({
      strategy: 'LINEAR',
      bakeTimeInMinutes: 2,
      linearConfiguration: { stepPercent: 12.5, stepBakeTimeInMinutes: 1 },
    });
    expect(deploymentConfigurationFor(parseDeploymentSettings({ strategy: 'canary', canaryPercent: '0.1', canaryBakeMinutes: '0', bakeMinutes: '1440' })!)).toEqual({
      strategy: 'CANARY',
      bakeTimeInMinutes: 1440,
      canaryConfiguration: { canaryPercent: 0.1, canaryBakeTimeInMinutes: 0 },
    });
  });

  it.each([
    [{ strategy: 'canary', canaryPercent: '0' }, /0.1 to 100.0/],
    [{ strategy: 'canary', canaryPercent: '100.1' }, /0.1 to 100.0/],
    [{ strategy: 'canary', canaryPercent: '5.25' }, /multiples of 0.1/],
    [{ strategy: 'linear', stepPercent: '2.9' }, /3.0 to 100.0/],
    [{ strategy: 'linear', stepBakeMinutes: '1441' }, /0 to 1440/],
    [{ strategy: 'blue-green', bakeMinutes: '-1' }, /0 to 1440/],
    [{ strategy: 'blue-green', bakeMinutes: '1.5' }, /whole number/],
    [{ strategy: 'linear', canaryPercent: '5' }, /--canary-percent is not a setting of --strategy linear/],
    [{ strategy: 'rolling', bakeMinutes: '5' }, /--bake-minutes is not a setting of --strategy rolling/],
    [{ stepPercent: '10' }, /--step-percent needs --strategy/],
    [{ strategy: 'purple' }, /invalid --strategy "purple"/],
  ])('refuses %o before any AWS call', (input, message) => {
    expect(() => parseDeploymentSettings(input)).toThrow(UsageError);
    expect(() => parseDeploymentSettings(input)).toThrow(message);
  });

  it('without --strategy keeps what the state remembers, else rolling', () => {
    expect(parseDeploymentSettings({})).toBeUndefined();
    const recorded = { id: 'demo', origin: 'created' as const, details: { cluster: 'demo', deployment: { strategy: 'blue-green', bakeMinutes: 4 } } };
    expect(wantedDeployment(undefined, recorded)).toEqual({ strategy: 'blue-green', bakeMinutes: 4 });
    expect(wantedDeployment(undefined, { id: 'demo', origin: 'created' })).toEqual({ strategy: 'rolling' });
  });

  it('compares what ECS reports; an unreported configuration (plain moto) matches', () => {
    expect(deploymentMatches(undefined, { strategy: 'blue-green', bakeMinutes: 2 })).toBe(true);
    expect(deploymentMatches({ minimumHealthyPercent: 100, maximumPercent: 200 }, { strategy: 'rolling' })).toBe(true);
    expect(deploymentMatches({ minimumHealthyPercent: 100 }, { strategy: 'blue-green', bakeMinutes: 2 })).toBe(false);
    expect(deploymentMatches({ strategy: 'BLUE_GREEN', bakeTimeInMinutes: 3 }, { strategy: 'blue-green', bakeMinutes: 2 })).toBe(false);
    expect(deploymentMatches({ strategy: 'BLUE_GREEN', bakeTimeInMinutes: 2 }, { strategy: 'blue-green', bakeMinutes: 2 })).toBe(true);
  });
});
