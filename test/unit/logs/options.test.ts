import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { ECSClient } from '@aws-sdk/client-ecs';
import { STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { logsAction, type LogsCliOptions } from '../../../src/commands/logs.js';
import { ExitCode, UsageError } from '../../../src/errors.js';
import { parseLogsOptions, parseSince, parseTaskRef } from '../../../src/logs/options.js';

const logs = mockClient(CloudWatchLogsClient);
const ecs = mockClient(ECSClient);
const sts = mockClient(STSClient);

beforeEach(() => {
  logs.reset();
  ecs.reset();
  sts.reset();
});

const NOW = Date.parse('2026-05-01T12:00:00.000Z');

describe('parseSince', () => {
  it.each([
    ['30s', NOW - 30_000],
    ['10m', NOW - 600_000],
    ['1h', NOW - 3_600_000],
    ['2d', NOW - 2 * 86_400_000],
    ['1w', NOW - 7 * 86_400_000],
    [' 5m ', NOW - 300_000],
  ])('takes the duration %j back from now', (raw, expected) => {
    expect(parseSince(raw, NOW)).toBe(expected);
  });

  it.each([
    ['2026-05-01T11:30:00Z', '2026-05-01T11:30:00.000Z'],
    ['2026-05-01T11:30:00.25Z', '2026-05-01T11:30:00.250Z'],
    ['2026-05-01T11:30', '2026-05-01T11:30:00.000Z'],
    ['2026-05-01 11:30:00', '2026-05-01T11:30:00.000Z'],
    ['2026-04-30', '2026-04-30T00:00:00.000Z'],
    ['2026-05-01T13:30:00+02:00', '2026-05-01T11:30:00.000Z'],
    ['2026-05-01T06:30:00-0500', '2026-05-01T11:30:00.000Z'],
  ])('reads the ISO time %j (UTC unless it names an offset)', (raw, expected) => {
    expect(new Date(parseSince(raw, NOW)).toISOString()).toBe(expected);
  });

  it('a duration reaching before 1970 means from the beginning, not a negative time AWS refuses', () => {
    expect(parseSince('99999w', NOW)).toBe(0);
  });

  it.each([
    ['5x', 'invalid --since "5x": expected a duration such as 30s, 10m, 1h, 2d or 1w, or an ISO 8601 time such as 2026-05-01T12:00:00Z'],
    ['10', 'invalid --since "10": expected a duration'],
    ['-5m', 'invalid --since "-5m": expected a duration'],
    ['0m', 'invalid --since "0m": the duration must be at least 1'],
    ['yesterday', 'invalid --since "yesterday": expected a duration'],
    ['2026-02-30', 'invalid --since "2026-02-30": not a real date and time'],
    ['2026-13-01', 'invalid --since "2026-13-01": not a real date and time'],
    ['2026-05-01T25:00', 'invalid --since "2026-05-01T25:00": not a real date and time'],
    ['2026-05-01T12:00:01Z', 'invalid --since "2026-05-01T12:00:01Z": 2026-05-01T12:00:01.000Z is in the future'],
  ])('refuses %j, naming --since and what is allowed', (raw, message) => {
    const parse = () => parseSince(raw, NOW);
    expect(parse).toThrow(UsageError);
    expect(parse).toThrow(message);
  });
});

describe('parseTaskRef', () => {
  it('takes a task ID, its short form (8 or more characters), an old UUID ID and an ARN, as lowercase IDs', () => {
    expect(parseTaskRef('0f1e2d3c4b5a69788796a5b4c3d2e1f0')).toBe('0f1e2d3c4b5a69788796a5b4c3d2e1f0');
    expect(parseTaskRef('0F1E2D3C')).toBe('0f1e2d3c');
    expect(parseTaskRef('6a4b3c2d-1e0f-4a5b-9c8d-7e6f5a4b3c2d')).toBe('6a4b3c2d-1e0f-4a5b-9c8d-7e6f5a4b3c2d');
    expect(parseTaskRef('arn:aws:ecs:us-east-1:123456789012:task/demo/0f1e2d3c4b5a69788796a5b4c3d2e1f0')).toBe('0f1e2d3c4b5a69788796a5b4c3d2e1f0');
    expect(parseTaskRef('arn:aws:ecs:us-east-1:123456789012:task/0f1e2d3c4b5a69788796a5b4c3d2e1f0')).toBe('0f1e2d3c4b5a69788796a5b4c3d2e1f0');
  });

  it.each(['0f1e2d3', 'web-1', 'ecs/app/0f1e2d3c', 'arn:aws:ecs:us-east-1:123456789012:service/demo/demo', ''])('refuses %j, naming --task and what is allowed', (raw) => {
    const parse = () => parseTaskRef(raw);
    expect(parse).toThrow(UsageError);
    expect(parse).toThrow(`invalid --task "${raw}": expected a task ID (such as 0f1e2d3c4b5a69788796a5b4c3d2e1f0), its first 8 or more characters as logs prints them (0f1e2d3c), or a task ARN`);
  });
});

describe('parseLogsOptions', () => {
  it('turns the defaults into a start time ten minutes back, no task, no follow', () => {
    expect(parseLogsOptions({ since: '10m' }, NOW)).toEqual({ startTime: NOW - 600_000, follow: false });
    expect(parseLogsOptions({ since: '1h', task: '0F1E2D3C', follow: true }, NOW)).toEqual({ startTime: NOW - 3_600_000, task: '0f1e2d3c', follow: true });
  });
});

describe('logsAction refuses bad input before any AWS call', () => {
  const cli = (overrides: Partial<LogsCliOptions>): LogsCliOptions => ({
    stack: 'demo',
    region: 'us-east-1',
    stateDir: mkdtempSync(join(tmpdir(), 'ecs-ha-logs-opt-')),
    since: '10m',
    ...overrides,
  });

  it.each([
    [{ since: '5x' }, 'invalid --since "5x"'],
    [{ task: 'not-a-task' }, 'invalid --task "not-a-task"'],
    [{ stack: 'Bad_Stack' }, 'invalid --stack "Bad_Stack"'],
  ] as Array<[Partial<LogsCliOptions>, string]>)('%o: exit 2 and no call', async (overrides, message) => {
    const error = await logsAction(cli(overrides)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).exitCode).toBe(ExitCode.usage);
    expect((error as Error).message).toContain(message);
    expect(sts.calls()).toHaveLength(0);
    expect(logs.calls()).toHaveLength(0);
    expect(ecs.calls()).toHaveLength(0);
  });
});
