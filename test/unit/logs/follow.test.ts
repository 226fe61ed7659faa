/**
 * `logs` and `logs --follow` in-process against scripted AWS answers and a fake clock: live tail
 * where StartLiveTail works, polling when it fails with an error that says live tail is not there
 * (the codes and shapes AWS, emulators and Node give), each line printed once, Ctrl-C as exit 130.
 */
import {
  AccessDeniedException,
  CloudWatchLogsClient,
  CloudWatchLogsServiceException,
  DescribeLogStreamsCommand,
  FilterLogEventsCommand,
  InvalidOperationException,
  LimitExceededException,
  ResourceNotFoundException,
  SessionTimeoutException,
  StartLiveTailCommand,
  ThrottlingException,
  type FilteredLogEvent,
  type StartLiveTailResponseStream,
} from '@aws-sdk/client-cloudwatch-logs';
import { DescribeTasksCommand, ECSClient } from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { AwsClients } from '../../../src/aws/clients.js';
import type { Clock } from '../../../src/clock.js';
import { ExitCode, InterruptedError } from '../../../src/errors.js';
import { liveTailImpossibleAt, liveTailUnavailable, LOOKBACK_MS, POLL_INTERVAL_MS } from '../../../src/logs/follow.js';
import { runLogs, type LogsTarget } from '../../../src/logs/run.js';
import type { Session } from '../../../src/session.js';
import { createReporter } from '../../../src/ui/reporter.js';
import { awsError, REGION, scriptedRunner } from '../../helpers/context.js';

const logsMock = mockClient(CloudWatchLogsClient);
const ecsMock = mockClient(ECSClient);

const TASK_A = 'aaaa1111bbbb2222cccc3333dddd4444';
const TASK_B = 'bbbb1111cccc2222dddd3333eeee4444';
const GROUP_ARN = 'arn:aws:logs:us-east-1:123456789012:log-group:/ecs/demo';
const TARGET: LogsTarget = { group: '/ecs/demo', groupArn: GROUP_ARN, cluster: 'demo' };
const START = Date.parse('2026-05-01T12:00:00.000Z');
const SINCE = START - 600_000;

const event = (eventId: string, task: string, secondsAfterStart: number, message: string): FilteredLogEvent => ({
  eventId,
  logStreamName: `ecs/app/${task}`,
  timestamp: START + secondsAfterStart * 1000,
  message,
});

/** A clock whose sleeps pass at once; the `abortAfter`-th sleep is the user pressing Ctrl-C. */
function clockThatInterrupts(controller: AbortController, abortAfter: number): Clock & { slept: number[] } {
  let now = START;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
      if (slept.length >= abortAfter) controller.abort();
    },
  };
}

interface Harness {
  session: Session;
  printed: string[];
  stderr: string[];
  controller: AbortController;
  run: (options: { follow: boolean; task?: string; json?: boolean }) => Promise<void>;
}

function harness(clock: (controller: AbortController) => Clock, endpointUrl?: string): Harness {
  const controller = new AbortController();
  const printed: string[] = [];
  const stderr: string[] = [];
  const sink = (lines: string[]) => ({ write: (text: string) => lines.push(text) > 0 }) as unknown as NodeJS.WritableStream;
  const session: Session = {
    stack: 'demo',
    stateDir: '.',
    local: false,
    json: false,
    aws: new AwsClients({ region: REGION, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1, ...(endpointUrl ? { endpointUrl } : {}) }),
    reporter: createReporter({ json: false, interactive: false, stdout: sink([]), stderr: sink(stderr) }),
    clock: clock(controller),
    runner: scriptedRunner(),
    signal: controller.signal,
  };
  return {
    session,
    printed,
    stderr,
    controller,
    run: ({ follow, task, json = false }) =>
      runLogs(session, TARGET, { startTime: SINCE, follow, ...(task ? { task } : {}) }, {
        print: (line) => printed.push(line),
        json,
        signal: controller.signal,
        interrupted: () => controller.signal.aborted,
      }),
  };
}

/** The messages of the printed text lines. */
const messages = (printed: string[]): string[] => printed.map((line) => line.split(' ').slice(3).join(' ').trim());

beforeEach(() => {
  logsMock.reset();
  ecsMock.reset();
  ecsMock.on(DescribeTasksCommand).callsFake((input: { tasks: string[] }) => ({
    tasks: input.tasks.filter((id) => id === TASK_A).map((id) => ({ taskArn: `arn:aws:ecs:us-east-1:123456789012:task/demo/${id}`, availabilityZone: 'us-east-1a' })),
    failures: input.tasks.filter((id) => id !== TASK_A).map((id) => ({ arn: id, reason: 'MISSING' })),
  }));
});

describe('liveTailUnavailable: when to fall back to polling', () => {
  const unknownOperation = new CloudWatchLogsServiceException({ name: 'UnknownOperationException', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: '' });
  // What Node gives for the `stream-` host the SDK puts in front of an emulator's address (seen against moto).
  const noStreamHost = Object.assign(new Error('getaddrinfo ENOTFOUND stream-127.0.0.1'), { code: 'ENOTFOUND', errno: -3008, syscall: 'getaddrinfo', hostname: 'stream-127.0.0.1', $metadata: { attempts: 1, totalRetryDelay: 0 } });
  // moto answers an action it lacks with an HTML 500 page (seen with the host prefix disabled).
  const htmlPage = Object.assign(new SyntaxError('Unexpected token \'<\', "<!doctype "... is not valid JSON\n  Deserialization error: to see the raw response, inspect the hidden field {error}.$response on this object.'), { $metadata: { httpStatusCode: 500 } });
  const notEmulated = awsError('InternalFailure', "The API action 'StartLiveTail' for service 'logs' has not yet been emulated", 501);

  it.each([
    ['UnknownOperationException (AWS JSON protocol, 400)', unknownOperation, 'the endpoint does not offer live tail (UnknownOperationException)'],
    ['ENOTFOUND for the stream- host', noStreamHost, 'the live tail endpoint stream-127.0.0.1 does not resolve'],
    ['an HTML page instead of an AWS answer', htmlPage, 'the endpoint answered StartLiveTail, but not as AWS does'],
    ['501 from an emulator', notEmulated, 'the endpoint does not offer live tail (HTTP 501 InternalFailure)'],
    ['AccessDeniedException', new AccessDeniedException({ message: 'not authorized to perform: logs:StartLiveTail', $metadata: { httpStatusCode: 400 } }), 'not allowed to start a live tail (logs:StartLiveTail)'],
    ['LimitExceededException', new LimitExceededException({ message: 'Too many concurrent sessions', $metadata: { httpStatusCode: 400 } }), 'as many live tail sessions open as CloudWatch Logs allows'],
    ['InvalidOperationException', new InvalidOperationException({ message: 'Live Tail is not supported for this log group class', $metadata: { httpStatusCode: 400 } }), 'live tail is not possible for this log group (Live Tail is not supported for this log group class)'],
  ])('falls back on %s', (_what, error, reason) => {
    expect(liveTailUnavailable(error)).toContain(reason);
  });

  it.each([
    ['ResourceNotFoundException', new ResourceNotFoundException({ message: 'The specified log group does not exist.', $metadata: { httpStatusCode: 400 } })],
    ['ThrottlingException (after the SDK\'s retries)', new ThrottlingException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 400 } })],
    ['ENOTFOUND of the API host itself (no network)', Object.assign(new Error('getaddrinfo ENOTFOUND logs.us-east-1.amazonaws.com'), { code: 'ENOTFOUND', hostname: 'logs.us-east-1.amazonaws.com' })],
    ['an expired token', awsError('ExpiredTokenException', 'The security token included in the request is expired')],
  ])('reports %s as the failure it is', (_what, error) => {
    expect(liveTailUnavailable(error)).toBeUndefined();
  });

  it('knows before trying that an IP address or localhost endpoint has no live tail host', () => {
    expect(liveTailImpossibleAt('http://127.0.0.1:4566')).toBe('the endpoint http://127.0.0.1:4566 has no live tail host (stream-127.0.0.1)');
    expect(liveTailImpossibleAt('http://localhost:5000')).toContain('stream-localhost');
    expect(liveTailImpossibleAt('http://[::1]:5000')).toContain('stream-::1');
    expect(liveTailImpossibleAt('https://logs.us-east-1.amazonaws.com')).toBeUndefined();
    expect(liveTailImpossibleAt(undefined)).toBeUndefined();
  });
});

describe('logs without --follow', () => {
  it('prints the window\'s lines oldest first with short task ID and AZ (? for a task ECS forgot), and ends', async () => {
    logsMock.on(FilterLogEventsCommand).resolves({ events: [event('2', TASK_B, 2, 'GET /health 200'), event('1', TASK_A, 1, 'Booting worker')] });
    const h = harness(() => clockThatInterrupts(new AbortController(), Infinity));
    await h.run({ follow: false });
    expect(h.printed).toEqual([
      '2026-05-01T12:00:01.000Z aaaa1111 us-east-1a Booting worker',
      '2026-05-01T12:00:02.000Z bbbb1111 ?          GET /health 200',
    ]);
    expect(logsMock.commandCalls(FilterLogEventsCommand)[0]!.args[0].input).toEqual({ logGroupName: '/ecs/demo', startTime: SINCE });
    expect(logsMock.commandCalls(StartLiveTailCommand)).toHaveLength(0);
  });

  it('--task reads only that task\'s streams; --json prints one object a line', async () => {
    logsMock.on(DescribeLogStreamsCommand).resolves({ logStreams: [{ logStreamName: `ecs/app/${TASK_A}` }, { logStreamName: `ecs/app/${TASK_B}` }] });
    logsMock.on(FilterLogEventsCommand).resolves({ events: [event('1', TASK_A, 1, 'Booting worker')] });
    const h = harness(() => clockThatInterrupts(new AbortController(), Infinity));
    await h.run({ follow: false, task: 'aaaa1111', json: true });
    expect(logsMock.commandCalls(FilterLogEventsCommand)[0]!.args[0].input.logStreamNames).toEqual([`ecs/app/${TASK_A}`]);
    expect(h.printed.map((line) => JSON.parse(line))).toEqual([
      { time: '2026-05-01T12:00:01.000Z', task: TASK_A, az: 'us-east-1a', container: 'app', stream: `ecs/app/${TASK_A}`, message: 'Booting worker' },
    ]);
  });

  it('says on stderr when the window has no lines', async () => {
    logsMock.on(FilterLogEventsCommand).resolves({ events: [] });
    const h = harness(() => clockThatInterrupts(new AbortController(), Infinity));
    await h.run({ follow: false });
    expect(h.printed).toEqual([]);
    expect(h.stderr.join('')).toContain(`no log lines in /ecs/demo since ${new Date(SINCE).toISOString()}`);
  });
});

/** An event stream as the SDK hands it out: events, then (optionally) an error, then silence until Ctrl-C. */
function liveStream(events: StartLiveTailResponseStream[], end: { error?: Error; thenAbort?: AbortController }): AsyncIterable<StartLiveTailResponseStream> {
  return {
    async *[Symbol.asyncIterator]() {
      for (const e of events) yield e;
      if (end.error) throw end.error;
      end.thenAbort?.abort();
      await new Promise(() => undefined); // an open session waits for lines
    },
  };
}

const liveEvent = (task: string, secondsAfterStart: number, message: string) => ({
  logStreamName: `ecs/app/${task}`,
  logGroupIdentifier: GROUP_ARN,
  timestamp: START + secondsAfterStart * 1000,
  ingestionTime: START + secondsAfterStart * 1000 + 500,
  message,
});

describe('logs --follow with live tail', () => {
  it('prints the history, the lines that came while the session opened, then the session\'s lines, each once; Ctrl-C is exit 130', async () => {
    const h = harness((controller) => clockThatInterrupts(controller, 50));
    logsMock
      .on(FilterLogEventsCommand)
      .resolvesOnce({ events: [event('1', TASK_A, 1, 'old line')] })
      // Read again once the session started: one line arrived in between.
      .resolvesOnce({ events: [event('1', TASK_A, 1, 'old line'), event('2', TASK_A, 2, 'between')] });
    logsMock.on(StartLiveTailCommand).callsFake(() => ({
      responseStream: liveStream(
        [
          { sessionStart: { sessionId: 's-1', logGroupIdentifiers: [GROUP_ARN] } },
          // The session also delivers the line the catch-up read showed: not printed twice.
          { sessionUpdate: { sessionMetadata: { sampled: false }, sessionResults: [liveEvent(TASK_A, 2, 'between'), liveEvent(TASK_B, 3, 'new line')] } },
        ],
        { thenAbort: h.controller },
      ),
    }));

    const error = await h.run({ follow: true }).catch((e: unknown) => e);

    expect(messages(h.printed)).toEqual(['old line', 'between', 'new line']);
    expect(logsMock.commandCalls(StartLiveTailCommand)[0]!.args[0].input).toEqual({ logGroupIdentifiers: [GROUP_ARN] });
    expect(error).toBeInstanceOf(InterruptedError);
    expect((error as InterruptedError).exitCode).toBe(ExitCode.interrupted);
    expect((error as Error).message).toBe('interrupted: stopped following /ecs/demo');
    expect(h.stderr.join('')).toContain('following /ecs/demo with CloudWatch Logs live tail');
  });

  it('starts a new session when one reaches its time limit', async () => {
    // Should it fall back to polling instead, the 50th poll ends the test rather than hanging it.
    const h = harness((controller) => clockThatInterrupts(controller, 50));
    logsMock.on(FilterLogEventsCommand).resolves({ events: [] });
    const sessions = [
      () => liveStream([{ sessionStart: { sessionId: 's-1' } }, { sessionUpdate: { sessionResults: [liveEvent(TASK_A, 1, 'first session')] } }], { error: new SessionTimeoutException({ message: 'Session timed out', $metadata: {} }) }),
      () => liveStream([{ sessionStart: { sessionId: 's-2' } }, { sessionUpdate: { sessionResults: [liveEvent(TASK_A, 2, 'second session')] } }], { thenAbort: h.controller }),
    ];
    logsMock.on(StartLiveTailCommand).callsFake(() => ({ responseStream: sessions.shift()!() }));

    await expect(h.run({ follow: true })).rejects.toThrow(InterruptedError);

    expect(messages(h.printed)).toEqual(['first session', 'second session']);
    expect(logsMock.commandCalls(StartLiveTailCommand)).toHaveLength(2);
    expect(h.stderr.join('')).toContain('the live tail session reached its time limit; starting a new one');
  });

  it('--task tails only that task\'s streams', async () => {
    const h = harness(() => clockThatInterrupts(new AbortController(), Infinity));
    logsMock.on(DescribeLogStreamsCommand).resolves({ logStreams: [{ logStreamName: `ecs/app/${TASK_A}` }, { logStreamName: `ecs/app/${TASK_B}` }] });
    logsMock.on(FilterLogEventsCommand).resolves({ events: [] });
    logsMock.on(StartLiveTailCommand).callsFake(() => ({ responseStream: liveStream([{ sessionStart: {} }], { thenAbort: h.controller }) }));
    await expect(h.run({ follow: true, task: 'bbbb1111' })).rejects.toThrow(InterruptedError);
    expect(logsMock.commandCalls(StartLiveTailCommand)[0]!.args[0].input).toEqual({ logGroupIdentifiers: [GROUP_ARN], logStreamNames: [`ecs/app/${TASK_B}`] });
  });

  it('an error that is not about live tail being unavailable fails the command', async () => {
    const h = harness(() => clockThatInterrupts(new AbortController(), Infinity));
    logsMock.on(FilterLogEventsCommand).resolves({ events: [] });
    logsMock.on(StartLiveTailCommand).rejects(new ThrottlingException({ message: 'Rate exceeded', $metadata: { httpStatusCode: 400 } }));
    await expect(h.run({ follow: true })).rejects.toThrow('Rate exceeded');
    expect(logsMock.commandCalls(FilterLogEventsCommand)).toHaveLength(1);
  });
});

describe('logs --follow by polling', () => {
  /** History, then two polls: each read overlaps the one before, as the look-back window makes it. */
  const scriptPolls = (): void => {
    logsMock
      .on(FilterLogEventsCommand)
      .resolvesOnce({ events: [event('1', TASK_A, 1, 'history')] })
      .resolvesOnce({ events: [event('1', TASK_A, 1, 'history'), event('2', TASK_B, 3, 'first poll')] })
      .resolvesOnce({ events: [event('2', TASK_B, 3, 'first poll'), event('3', TASK_A, 3, 'second poll'), event('4', TASK_A, 3, 'second poll')] })
      .resolves({ events: [] });
  };

  it('falls back when StartLiveTail answers UnknownOperationException, says why, and prints each new event once (two equal lines are two events)', async () => {
    scriptPolls();
    logsMock.on(StartLiveTailCommand).rejects(new CloudWatchLogsServiceException({ name: 'UnknownOperationException', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: '' }));
    let clock: ReturnType<typeof clockThatInterrupts> | undefined;
    const h = harness((controller) => (clock = clockThatInterrupts(controller, 3)));

    const error = await h.run({ follow: true }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(InterruptedError);
    expect(messages(h.printed)).toEqual(['history', 'first poll', 'second poll', 'second poll']);
    expect(h.stderr.join('')).toContain('live tail is not available: the endpoint does not offer live tail (UnknownOperationException); polling every 2 s instead');
    expect(clock!.slept).toEqual([POLL_INTERVAL_MS, POLL_INTERVAL_MS, POLL_INTERVAL_MS]);
    // The first read starts at --since; each poll looks back LOOKBACK_MS from its own time, never before --since.
    const starts = logsMock.commandCalls(FilterLogEventsCommand).map((c) => c.args[0].input.startTime);
    expect(starts).toEqual([SINCE, START + POLL_INTERVAL_MS - LOOKBACK_MS, START + 2 * POLL_INTERVAL_MS - LOOKBACK_MS]);
  });

  it('an emulator endpoint goes straight to polling: no StartLiveTail call, no DNS wait', async () => {
    scriptPolls();
    const h = harness((controller) => clockThatInterrupts(controller, 3), 'http://127.0.0.1:4566');
    await expect(h.run({ follow: true })).rejects.toThrow(InterruptedError);
    expect(logsMock.commandCalls(StartLiveTailCommand)).toHaveLength(0);
    expect(messages(h.printed)).toEqual(['history', 'first poll', 'second poll', 'second poll']);
    expect(h.stderr.join('')).toContain('following /ecs/demo by polling every 2 s, as the endpoint http://127.0.0.1:4566 has no live tail host (stream-127.0.0.1)');
  });

  it('Ctrl-C during a call ends with exit 130, not with the aborted call\'s error', async () => {
    const h = harness((controller) => clockThatInterrupts(controller, Infinity), 'http://127.0.0.1:4566');
    logsMock
      .on(FilterLogEventsCommand)
      .resolvesOnce({ events: [event('1', TASK_A, 1, 'history')] })
      .callsFake(() => {
        h.controller.abort();
        throw Object.assign(new Error('This operation was aborted'), { name: 'AbortError' });
      });
    await expect(h.run({ follow: true })).rejects.toThrow(InterruptedError);
    expect(messages(h.printed)).toEqual(['history']);
  });

  it('a closed stdout (not Ctrl-C) ends it without an error', async () => {
    scriptPolls();
    const h = harness((controller) => clockThatInterrupts(controller, 1), 'http://127.0.0.1:4566');
    await expect(
      runLogs(h.session, TARGET, { startTime: SINCE, follow: true }, { print: (line) => h.printed.push(line), json: false, signal: h.controller.signal, interrupted: () => false }),
    ).resolves.toBeUndefined();
    expect(messages(h.printed)).toEqual(['history']);
  });
});
