/**
 * Reading the log group (every page, oldest first, the streams of one task) and the tasks' AZs
 * (DescribeTasks in batches of 100, unknown tasks as unknown), against scripted AWS answers.
 */
import {
  CloudWatchLogsClient,
  DescribeLogStreamsCommand,
  FilterLogEventsCommand,
  ResourceNotFoundException,
} from '@aws-sdk/client-cloudwatch-logs';
import { DescribeTasksCommand, ECSClient } from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { AwsClients } from '../../../src/aws/clients.js';
import { OperationError, UsageError } from '../../../src/errors.js';
import { fetchLines, streamOwner, streamsOfTask, type LogSource } from '../../../src/logs/events.js';
import { formatJson, formatText } from '../../../src/logs/format.js';
import { TaskZones } from '../../../src/logs/zones.js';
import { awsError, REGION } from '../../helpers/context.js';

const logsMock = mockClient(CloudWatchLogsClient);
const ecsMock = mockClient(ECSClient);

const TASK_A = 'aaaa1111bbbb2222cccc3333dddd4444';
const TASK_B = 'bbbb1111cccc2222dddd3333eeee4444';
const stream = (task: string) => `ecs/app/${task}`;

let aws: AwsClients;
let source: LogSource;
beforeEach(() => {
  logsMock.reset();
  ecsMock.reset();
  aws = new AwsClients({ region: REGION, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
  source = { logs: aws.logs, group: '/ecs/demo' };
});

describe('streamOwner', () => {
  it('reads the task and container from an awslogs stream name, and a bare task ID as itself', () => {
    expect(streamOwner(`ecs/app/${TASK_A}`)).toEqual({ taskId: TASK_A, container: 'app' });
    expect(streamOwner(`web/sidecar/${TASK_B}`)).toEqual({ taskId: TASK_B, container: 'sidecar' });
    expect(streamOwner(TASK_A)).toEqual({ taskId: TASK_A });
  });
});

describe('fetchLines', () => {
  it('follows nextToken to the last page, through a page with no events, and sorts the streams into one timeline', async () => {
    logsMock
      .on(FilterLogEventsCommand)
      .resolvesOnce({
        events: [
          { eventId: '1', logStreamName: stream(TASK_A), timestamp: 1_000, message: 'a first\n' },
          { eventId: '2', logStreamName: stream(TASK_A), timestamp: 3_000, message: 'a second' },
        ],
        nextToken: 'page-2',
      })
      .resolvesOnce({ events: [], nextToken: 'page-3' })
      .resolvesOnce({ events: [{ eventId: '3', logStreamName: stream(TASK_B), timestamp: 2_000, message: 'b first' }] });

    const lines = await fetchLines(source, 500);

    expect(lines.map((l) => `${l.timestamp} ${l.taskId.slice(0, 4)} ${l.message}`)).toEqual(['1000 aaaa a first', '2000 bbbb b first', '3000 aaaa a second']);
    const inputs = logsMock.commandCalls(FilterLogEventsCommand).map((c) => c.args[0].input);
    expect(inputs).toEqual([
      { logGroupName: '/ecs/demo', startTime: 500 },
      { logGroupName: '/ecs/demo', startTime: 500, nextToken: 'page-2' },
      { logGroupName: '/ecs/demo', startTime: 500, nextToken: 'page-3' },
    ]);
  });

  it('keeps one stream\'s order for lines of the same millisecond', async () => {
    const events = ['one', 'two', 'three'].map((message, i) => ({ eventId: `${i}`, logStreamName: stream(TASK_A), timestamp: 5_000, message }));
    logsMock.on(FilterLogEventsCommand).resolves({ events });
    expect((await fetchLines(source, 0)).map((l) => l.message)).toEqual(['one', 'two', 'three']);
  });

  it('asks for at most 100 streams a call', async () => {
    logsMock.on(FilterLogEventsCommand).resolves({ events: [] });
    const streams = Array.from({ length: 150 }, (_, i) => `ecs/app/${String(i).padStart(32, '0')}`);
    await fetchLines(source, 0, streams);
    const asked = logsMock.commandCalls(FilterLogEventsCommand).map((c) => c.args[0].input.logStreamNames?.length);
    expect(asked).toEqual([100, 50]);
  });

  it('a missing log group is an OperationError that says so', async () => {
    logsMock.on(FilterLogEventsCommand).rejects(new ResourceNotFoundException({ message: 'The specified log group does not exist.', $metadata: { httpStatusCode: 400 } }));
    await expect(fetchLines(source, 0)).rejects.toThrow(OperationError);
    await expect(fetchLines(source, 0)).rejects.toThrow('the log group /ecs/demo does not exist');
  });
});

describe('streamsOfTask', () => {
  const pages = () =>
    logsMock
      .on(DescribeLogStreamsCommand)
      .resolvesOnce({ logStreams: [{ logStreamName: stream(TASK_A) }], nextToken: 'more' })
      .resolvesOnce({ logStreams: [{ logStreamName: stream(TASK_B) }, { logStreamName: `ecs/sidecar/${TASK_B}` }] });

  it('finds the task by its short ID on a later page, with every container\'s stream', async () => {
    pages();
    expect(await streamsOfTask(source, 'bbbb1111')).toEqual([stream(TASK_B), `ecs/sidecar/${TASK_B}`]);
    expect(logsMock.commandCalls(DescribeLogStreamsCommand).map((c) => c.args[0].input.nextToken)).toEqual([undefined, 'more']);
  });

  it('refuses a task that has no stream, listing the tasks that have', async () => {
    pages();
    const error = await streamsOfTask(source, 'cccc1111').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toBe('invalid --task "cccc1111": no such task has written to the log group /ecs/demo');
    expect((error as UsageError).hint).toBe(`the tasks with log lines there: ${TASK_A}, ${TASK_B}`);
  });

  it('refuses a prefix that matches two tasks', async () => {
    logsMock.on(DescribeLogStreamsCommand).resolves({ logStreams: [{ logStreamName: stream(TASK_A) }, { logStreamName: stream(`aaaa1111${TASK_B.slice(8)}`) }] });
    await expect(streamsOfTask(source, 'aaaa1111')).rejects.toThrow('invalid --task "aaaa1111": it matches 2 tasks in /ecs/demo');
  });
});

describe('TaskZones', () => {
  const taskArn = (id: string) => `arn:aws:ecs:us-east-1:123456789012:task/demo/${id}`;

  it('asks ECS in batches of 100, once per task, and leaves a task ECS no longer knows unknown', async () => {
    const ids = Array.from({ length: 101 }, (_, i) => String(i).padStart(32, 'a'));
    ecsMock.on(DescribeTasksCommand).callsFake((input: { tasks: string[] }) => ({
      tasks: input.tasks.filter((id) => id !== ids[100]).map((id, i) => ({ taskArn: taskArn(id), availabilityZone: i % 2 ? 'us-east-1b' : 'us-east-1a' })),
      failures: input.tasks.filter((id) => id === ids[100]).map((id) => ({ arn: taskArn(id), reason: 'MISSING' })),
    }));
    const zones = new TaskZones(aws.ecs, 'demo', () => undefined);

    await zones.learn(ids);
    await zones.learn(ids.slice(0, 3));

    const batches = ecsMock.commandCalls(DescribeTasksCommand).map((c) => c.args[0].input);
    expect(batches.map((b) => [b.cluster, b.tasks?.length])).toEqual([['demo', 100], ['demo', 1]]);
    expect(zones.zoneOf(ids[0]!)).toBe('us-east-1a');
    expect(zones.zoneOf(ids[1]!)).toBe('us-east-1b');
    expect(zones.zoneOf(ids[100]!)).toBeUndefined();
  });

  it('a DescribeTasks that fails leaves the AZs unknown and warns once, naming the error', async () => {
    ecsMock.on(DescribeTasksCommand).rejects(awsError('AccessDeniedException', 'not authorized to perform: ecs:DescribeTasks'));
    const warnings: string[] = [];
    const zones = new TaskZones(aws.ecs, 'demo', (message) => warnings.push(message));
    await zones.learn([TASK_A]);
    await zones.learn([TASK_B]);
    expect(zones.zoneOf(TASK_A)).toBeUndefined();
    expect(warnings).toEqual([
      "cannot read the tasks' Availability Zones (ECS DescribeTasks failed: AccessDeniedException: not authorized to perform: ecs:DescribeTasks); they show as ?",
    ]);
  });
});

describe('formatting', () => {
  const line = { timestamp: Date.parse('2026-05-01T12:00:00.123Z'), taskId: TASK_A, container: 'app', stream: stream(TASK_A), message: 'GET / 200' };

  it('prefixes the text line with time, short task ID and AZ (? when unknown)', () => {
    expect(formatText(line, 'us-east-1a')).toBe('2026-05-01T12:00:00.123Z aaaa1111 us-east-1a GET / 200');
    expect(formatText(line, undefined)).toBe('2026-05-01T12:00:00.123Z aaaa1111 ?          GET / 200');
  });

  it('writes one JSON object on one line, az null when unknown', () => {
    const text = formatJson({ ...line, message: 'two\tparts "quoted"' }, undefined);
    expect(text).not.toContain('\n');
    expect(JSON.parse(text)).toEqual({ time: '2026-05-01T12:00:00.123Z', task: TASK_A, az: null, container: 'app', stream: stream(TASK_A), message: 'two\tparts "quoted"' });
  });
});
