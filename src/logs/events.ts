/**
 * Reading the stack's log group: which streams belong to which task, and the events of a time
 * window, every page of them. The awslogs driver names a task's stream `<prefix>/<container>/<task id>`.
 */
import { DescribeLogStreamsCommand, FilterLogEventsCommand, type FilteredLogEvent } from '@aws-sdk/client-cloudwatch-logs';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { isAwsError } from '../aws/errors.js';
import { OperationError, UsageError } from '../errors.js';

/** One line of the app's output, with the task that wrote it. */
export interface LogLine {
  /** Epoch milliseconds, as the log driver stamped the line. */
  timestamp: number;
  taskId: string;
  /** The container name from the stream name, when the stream has the awslogs shape. */
  container?: string;
  stream: string;
  message: string;
  /** CloudWatch's ID of the event (FilterLogEvents gives one, live tail does not). */
  eventId?: string;
}

/** Where the lines are read from. */
export interface LogSource {
  logs: CloudWatchLogsClient;
  group: string;
  signal?: AbortSignal;
}

/** The task and container a stream belongs to: `ecs/app/<task id>`, or a bare `<task id>` without a prefix. */
export function streamOwner(stream: string): { taskId: string; container?: string } {
  const parts = stream.split('/');
  const taskId = parts[parts.length - 1] ?? stream;
  return parts.length >= 3 ? { taskId, container: parts[parts.length - 2]! } : { taskId };
}

export function toLogLine(stream: string, timestamp: number, message: string, eventId?: string): LogLine {
  const owner = streamOwner(stream);
  // awslogs sends one event per line; a trailing newline would print an empty line.
  return { timestamp, ...owner, stream, message: message.replace(/\r?\n$/, ''), ...(eventId ? { eventId } : {}) };
}

function missingGroup(group: string, error: unknown): OperationError {
  return new OperationError(
    `the log group ${group} does not exist`,
    'it is created by `ecs-ha up` and deleted by `ecs-ha down`; run `ecs-ha up` to create it again',
    { cause: error },
  );
}

/** Every stream name in the group, page by page (DescribeLogStreams gives at most 50 a call). */
export async function listStreams(source: LogSource): Promise<string[]> {
  const names: string[] = [];
  let nextToken: string | undefined;
  try {
    do {
      const page = await source.logs.send(
        new DescribeLogStreamsCommand({ logGroupName: source.group, ...(nextToken ? { nextToken } : {}) }),
        { abortSignal: source.signal },
      );
      for (const stream of page.logStreams ?? []) if (stream.logStreamName) names.push(stream.logStreamName);
      nextToken = page.nextToken;
    } while (nextToken && !source.signal?.aborted);
  } catch (error) {
    if (isAwsError(error, 'ResourceNotFoundException')) throw missingGroup(source.group, error);
    throw error;
  }
  return names;
}

/**
 * The streams of the task `taskRef` names (an ID or its start). No task, or several matching a
 * short prefix, is bad input (exit 2), as chaos treats a --task that is not one of the service's.
 */
export async function streamsOfTask(source: LogSource, taskRef: string): Promise<string[]> {
  const streams = await listStreams(source);
  const matching = streams.filter((stream) => streamOwner(stream).taskId.startsWith(taskRef));
  const tasks = [...new Set(matching.map((stream) => streamOwner(stream).taskId))];
  if (tasks.length > 1) {
    throw new UsageError(`invalid --task "${taskRef}": it matches ${tasks.length} tasks in ${source.group}: ${tasks.join(', ')}`, 'give more characters of the task ID');
  }
  if (tasks.length === 0) {
    const known = [...new Set(streams.map((stream) => streamOwner(stream).taskId))];
    throw new UsageError(
      `invalid --task "${taskRef}": no such task has written to the log group ${source.group}`,
      known.length ? `the tasks with log lines there: ${known.slice(0, 10).join(', ')}${known.length > 10 ? ` and ${known.length - 10} more` : ''}` : 'no task has written to it yet',
    );
  }
  return matching;
}

/** FilterLogEvents takes at most 100 stream names a call. */
const MAX_STREAMS_PER_CALL = 100;

/**
 * Every event from `startTime` on (of `streams` only, when given), following nextToken to the last
 * page, oldest first. AWS may answer a page with no events but a token: the search goes on.
 */
export async function fetchLines(source: LogSource, startTime: number, streams?: string[]): Promise<LogLine[]> {
  const batches = streams ? chunk(streams, MAX_STREAMS_PER_CALL) : [undefined];
  const lines: LogLine[] = [];
  try {
    for (const batch of batches) {
      let nextToken: string | undefined;
      do {
        const page = await source.logs.send(
          new FilterLogEventsCommand({
            logGroupName: source.group,
            startTime,
            ...(batch ? { logStreamNames: batch } : {}),
            ...(nextToken ? { nextToken } : {}),
          }),
          { abortSignal: source.signal },
        );
        for (const event of page.events ?? []) lines.push(lineOf(event));
        nextToken = page.nextToken;
      } while (nextToken && !source.signal?.aborted);
    }
  } catch (error) {
    if (isAwsError(error, 'ResourceNotFoundException')) throw missingGroup(source.group, error);
    throw error;
  }
  // Pages hold one stream after another; a stable sort keeps each stream's own order within a millisecond.
  return lines.sort((a, b) => a.timestamp - b.timestamp);
}

function lineOf(event: FilteredLogEvent): LogLine {
  return toLogLine(event.logStreamName ?? '?', event.timestamp ?? 0, event.message ?? '', event.eventId);
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}
