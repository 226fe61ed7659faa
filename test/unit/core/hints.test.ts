import { describe, expect, it } from 'vitest';
import { suggestLocal } from '../../../src/ui/hints.js';

describe('suggestLocal', () => {
  it('adds --local to every suggested ecs-ha command that lacks it', () => {
    expect(suggestLocal('run `ecs-ha up --stack demo` first, then `ecs-ha verify`')).toBe('run `ecs-ha up --local --stack demo` first, then `ecs-ha verify --local`');
  });

  it('leaves commands that have it, and text that is no suggested command, alone', () => {
    expect(suggestLocal('run `ecs-ha up --local --stack demo` first')).toBe('run `ecs-ha up --local --stack demo` first');
    expect(suggestLocal('reason: ecs-ha chaos: kill-one test')).toBe('reason: ecs-ha chaos: kill-one test');
  });
});
