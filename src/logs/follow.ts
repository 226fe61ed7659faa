/**
 * `logs --follow`: new lines as they arrive, until Ctrl-C. CloudWatch Logs live tail (StartLiveTail,
 * an event stream) where the endpoint has it; polling FilterLogEvents otherwise (emulators,
 * endpoints without the `stream-` host live tail needs, credentials not allowed to start one).
 */
import { StartLiveTailCommand, type LiveTailSessionLogEvent, type StartLiveTailResponseStream } from '@aws-sdk/client-cloudwatch-logs';
import { isIP } from 'node:net';
import { awsErrorCode, awsErrorMessage, isAwsError, isNotAwsAnswer } from '../aws/errors.js';
import type { Clock } from '../clock.js';
import { fetchLines, toLogLine, type LogLine, type LogSource } from './events.js';

export const POLL_INTERVAL_MS = 2_000;
/**
 * How far back each poll looks again: a line reaches CloudWatch seconds after its timestamp (the
 * awslogs driver batches), so a window that started at the newest line seen would miss late ones.
 */
export const LOOKBACK_MS = 30_000;

/**
 * Reads the group again and again, each time from a little before now, and hands out only the
 * events not handed out before (by eventId).
 */
export class EventPoller {
  /** eventId → timestamp, of the events already handed out and still inside the look-back window. */
  private readonly seen = new Map<string, number>();
  private polled = false;

  constructor(
    private readonly source: LogSource,
    private readonly startTime: number,
    private readonly streams?: string[],
  ) {}

  /** The first call reads from the start time; later ones from LOOKBACK_MS before `now`. */
  async poll(now: number): Promise<LogLine[]> {
    const from = this.polled ? Math.max(this.startTime, now - LOOKBACK_MS) : this.startTime;
    this.polled = true;
    const lines = await fetchLines(this.source, from, this.streams);
    const fresh = lines.filter((line) => {
      const key = line.eventId ?? `${line.stream}\u0000${line.timestamp}\u0000${line.message}`;
      if (this.seen.has(key)) return false;
      this.seen.set(key, line.timestamp);
      return true;
    });
    // The next poll starts no earlier than this: older IDs can never come back.
    const horizon = Math.max(this.startTime, now - LOOKBACK_MS);
    for (const [key, timestamp] of this.seen) if (timestamp < horizon) this.seen.delete(key);
    return fresh;
  }
}

/**
 * Why live tail cannot be used here, or undefined when `error` is a real failure to report.
 * AWS JSON services answer an operation they do not have with UnknownOperationException (400);
 * emulators answer 404/501 or an HTML page; a custom endpoint has no `stream-` host at all.
 */
export function liveTailUnavailable(error: unknown): string | undefined {
  const code = awsErrorCode(error);
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const host = (error as { hostname?: string }).hostname ?? /(?:ENOTFOUND|EAI_AGAIN) (\S+)/.exec(awsErrorMessage(error))?.[1];
  if (isAwsError(error, 'UnknownOperationException', 'InvalidAction', 'NotImplemented', 'NotImplementedException', 'UnsupportedOperation', 'UnsupportedOperationException')) {
    return `the endpoint does not offer live tail (${code})`;
  }
  if (status === 404 || status === 501) return `the endpoint does not offer live tail (HTTP ${status}${code ? ` ${code}` : ''})`;
  if (['ENOTFOUND', 'EAI_AGAIN'].includes((error as { code?: string }).code ?? '') && host?.startsWith('stream-')) {
    return `the live tail endpoint ${host} does not resolve (an emulator or a custom endpoint has none)`;
  }
  if (isNotAwsAnswer(error)) return 'the endpoint answered StartLiveTail, but not as AWS does';
  if (isAwsError(error, 'AccessDeniedException', 'AccessDenied')) return 'the credentials are not allowed to start a live tail (logs:StartLiveTail)';
  if (isAwsError(error, 'InvalidOperationException')) return `live tail is not possible for this log group (${awsErrorMessage(error)})`;
  if (isAwsError(error, 'LimitExceededException')) return 'the account has as many live tail sessions open as CloudWatch Logs allows';
  return undefined;
}

/** How a live tail session ended. */
export type LiveTailEnd = { kind: 'interrupted' } | { kind: 'timedOut' } | { kind: 'unavailable'; reason: string };

export interface LiveTailOptions {
  source: LogSource;
  /** StartLiveTail names log groups by ARN. */
  groupArn: string;
  streams?: string[];
  /** Called once the session has started: the lines that arrived since the last read (gap fill). */
  catchUp: () => Promise<LogLine[]>;
  emit: (lines: LogLine[]) => Promise<void>;
  warn: (message: string) => void;
}

/**
 * One live tail session: lines from the moment it starts until Ctrl-C, the 3-hour session limit,
 * or an error. Lines that reached the group while the session was being opened are read once by
 * `catchUp`; the multiset of those is what the session's own copies are checked against.
 */
export async function liveTail(options: LiveTailOptions): Promise<LiveTailEnd> {
  const { source } = options;
  let stream: AsyncIterable<StartLiveTailResponseStream>;
  try {
    const response = await source.logs.send(
      new StartLiveTailCommand({ logGroupIdentifiers: [options.groupArn], ...(options.streams ? { logStreamNames: options.streams } : {}) }),
      { abortSignal: source.signal },
    );
    if (!response.responseStream) return { kind: 'unavailable', reason: 'StartLiveTail answered without an event stream' };
    stream = response.responseStream;
  } catch (error) {
    if (source.signal?.aborted) return { kind: 'interrupted' };
    const reason = liveTailUnavailable(error);
    if (reason) return { kind: 'unavailable', reason };
    throw error;
  }

  const caughtUp = new Map<string, number>();
  let sampledWarned = false;
  try {
    for await (const event of untilAborted(stream, source.signal)) {
      if (event.sessionStart) {
        const lines = await options.catchUp();
        for (const line of lines) caughtUp.set(contentKey(line), (caughtUp.get(contentKey(line)) ?? 0) + 1);
        await options.emit(lines);
      } else if (event.sessionUpdate) {
        if (event.sessionUpdate.sessionMetadata?.sampled && !sampledWarned) {
          options.warn('live tail is sampling: the group receives more than live tail delivers (500 lines a second), so some lines are not shown');
          sampledWarned = true;
        }
        const lines = (event.sessionUpdate.sessionResults ?? []).map(lineOfLiveEvent).filter((line) => !alreadyShown(caughtUp, line));
        await options.emit(lines);
      } else if (event.SessionTimeoutException) {
        return { kind: 'timedOut' };
      } else if (event.SessionStreamingException) {
        return { kind: 'unavailable', reason: `the live tail session failed (SessionStreamingException: ${event.SessionStreamingException.message ?? 'no message'})` };
      }
    }
  } catch (error) {
    if (source.signal?.aborted) return { kind: 'interrupted' };
    // The SDK throws a stream's modeled exceptions rather than yielding them.
    if (isAwsError(error, 'SessionTimeoutException')) return { kind: 'timedOut' };
    return { kind: 'unavailable', reason: `the live tail session failed (${awsErrorCode(error) || 'error'}: ${awsErrorMessage(error)})` };
  }
  if (source.signal?.aborted) return { kind: 'interrupted' };
  return { kind: 'unavailable', reason: 'the live tail session ended' };
}

/**
 * The stream's events until it ends or `signal` aborts: a pending read is not waited for after
 * Ctrl-C (the command closes the connection when it ends).
 */
async function* untilAborted<T>(iterable: AsyncIterable<T>, signal: AbortSignal | undefined): AsyncGenerator<T> {
  const iterator = iterable[Symbol.asyncIterator]();
  const aborted = new Promise<'aborted'>((resolve) => {
    if (signal?.aborted) resolve('aborted');
    signal?.addEventListener('abort', () => resolve('aborted'), { once: true });
  });
  for (;;) {
    const next = await Promise.race([iterator.next(), aborted]);
    if (next === 'aborted') {
      void iterator.return?.()?.catch(() => undefined);
      return;
    }
    if (next.done) return;
    yield next.value;
  }
}

function lineOfLiveEvent(event: LiveTailSessionLogEvent): LogLine {
  return toLogLine(event.logStreamName ?? '?', event.timestamp ?? 0, event.message ?? '');
}

function contentKey(line: LogLine): string {
  return `${line.stream}\u0000${line.timestamp}\u0000${line.message}`;
}

/** True (and counted off) when the catch-up read already showed this line. */
function alreadyShown(caughtUp: Map<string, number>, line: LogLine): boolean {
  const key = contentKey(line);
  const count = caughtUp.get(key) ?? 0;
  if (count === 0) return false;
  if (count === 1) caughtUp.delete(key);
  else caughtUp.set(key, count - 1);
  return true;
}

/**
 * Why live tail cannot work at this endpoint before trying, or undefined. The SDK sends
 * StartLiveTail to the endpoint's host with `stream-` in front: for an IP address or localhost
 * (the local emulator) no such host exists, and the failing DNS lookup alone takes seconds.
 */
export function liveTailImpossibleAt(endpointUrl: string | undefined): string | undefined {
  if (!endpointUrl) return undefined;
  let host: string;
  try {
    host = new URL(endpointUrl).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return undefined;
  }
  if (isIP(host) || host === 'localhost') return `the endpoint ${endpointUrl} has no live tail host (stream-${host})`;
  return undefined;
}

export interface FollowOptions {
  source: LogSource;
  poller: EventPoller;
  /** Live tail is tried with the group's ARN, or not at all, for the reason given. */
  liveTail: { groupArn: string } | { unavailable: string };
  streams?: string[];
  clock: Clock;
  emit: (lines: LogLine[]) => Promise<void>;
  info: (message: string) => void;
  warn: (message: string) => void;
}

/** Follows until the source's signal aborts (Ctrl-C, or stdout closed): live tail first, polling as the fallback. */
export async function follow(options: FollowOptions): Promise<void> {
  const { source, poller, clock } = options;
  const signal = source.signal;
  const groupArn = 'groupArn' in options.liveTail ? options.liveTail.groupArn : undefined;
  let live = groupArn !== undefined;
  if (groupArn) options.info(`following ${source.group} with CloudWatch Logs live tail (Ctrl-C to stop)`);
  while (groupArn && live && !signal?.aborted) {
    const end = await liveTail({
      source,
      groupArn,
      ...(options.streams ? { streams: options.streams } : {}),
      catchUp: () => poller.poll(clock.now()),
      emit: options.emit,
      warn: options.warn,
    });
    if (end.kind === 'interrupted') return;
    if (end.kind === 'timedOut') {
      options.info('the live tail session reached its time limit; starting a new one');
      continue;
    }
    options.warn(`live tail is not available: ${end.reason}; polling every ${POLL_INTERVAL_MS / 1000} s instead`);
    live = false;
  }
  if ('unavailable' in options.liveTail) {
    options.info(`following ${source.group} by polling every ${POLL_INTERVAL_MS / 1000} s, as ${options.liveTail.unavailable} (Ctrl-C to stop)`);
  }
  while (!signal?.aborted) {
    await clock.sleep(POLL_INTERVAL_MS, signal);
    if (signal?.aborted) return;
    await options.emit(await poller.poll(clock.now()));
  }
}
