/**
 * `ecs-ha logs` options, validated before any AWS call (UsageError, exit 2): each message names the
 * option and what is allowed.
 */
import { UsageError } from '../errors.js';

/** As `aws logs tail`: without --since, the last ten minutes. */
export const DEFAULT_SINCE = '10m';

/** The options as commander hands them over. */
export interface LogsOptionInput {
  since: string;
  task?: string;
  follow?: boolean;
}

export interface LogsOptions {
  /** Epoch milliseconds: the oldest event time shown. */
  startTime: number;
  /** A task ID or the start of one (at least the short ID that logs prints), lowercase. */
  task?: string;
  follow: boolean;
}

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** 2026-05-01, 2026-05-01T12:00, 2026-05-01 12:00:00.250, with an optional Z or ±hh:mm offset. */
const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?)?(Z|[+-]\d{2}:?\d{2})?$/i;

const SINCE_ALLOWED = 'expected a duration such as 30s, 10m, 1h, 2d or 1w, or an ISO 8601 time such as 2026-05-01T12:00:00Z';

/** How many hex characters of a task ID logs prints, and the fewest --task accepts. */
export const SHORT_TASK_ID_LENGTH = 8;

/** A task ID (32 hex characters; a UUID for old tasks) or the start of one. */
const TASK_ID_PREFIX = new RegExp(`^[0-9a-f]{${SHORT_TASK_ID_LENGTH}}[0-9a-f-]{0,56}$`);
const TASK_ARN = /^arn:[\w-]+:ecs:[\w-]+:\d{12}:task\/(?:[\w-]+\/)?([0-9a-f-]{1,64})$/;

/**
 * `--since`: a duration back from `now`, or an ISO 8601 time (UTC unless it names an offset, as the
 * times logs prints are UTC). A time in the future is refused: it would show nothing, ever.
 */
export function parseSince(raw: string, now: number): number {
  const text = raw.trim();
  const relative = /^(\d+)([smhdw])$/.exec(text);
  if (relative) {
    const amount = Number(relative[1]);
    if (amount === 0 || !Number.isSafeInteger(amount)) throw new UsageError(`invalid --since "${raw}": the duration must be at least 1; ${SINCE_ALLOWED}`);
    // CloudWatch Logs refuses a negative startTime: a duration before 1970 means "everything".
    return Math.max(0, now - amount * UNIT_MS[relative[2]!]!);
  }
  const iso = ISO_TIME.exec(text);
  if (!iso) throw new UsageError(`invalid --since "${raw}": ${SINCE_ALLOWED}`);
  const [, year, month, day, hour = '00', minute = '00', second = '00', offset = 'Z'] = iso;
  const zone = offset.toUpperCase() === 'Z' ? 'Z' : `${offset.slice(0, 3)}:${offset.slice(-2)}`;
  const time = Date.parse(`${year}-${month}-${day}T${hour}:${minute}:${second}${fraction(text)}${zone}`);
  // Date.parse rolls 2026-02-30 over to March 2: the fields must come back as they were given.
  const fields = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hour), Number(minute), Number(second)));
  const real =
    fields.getUTCFullYear() === Number(year) && fields.getUTCMonth() === Number(month) - 1 && fields.getUTCDate() === Number(day) &&
    fields.getUTCHours() === Number(hour) && fields.getUTCMinutes() === Number(minute) && fields.getUTCSeconds() === Number(second);
  if (Number.isNaN(time) || !real) throw new UsageError(`invalid --since "${raw}": not a real date and time; ${SINCE_ALLOWED}`);
  if (time > now) throw new UsageError(`invalid --since "${raw}": ${new Date(time).toISOString()} is in the future; give a time in the past, or a duration such as 10m`);
  return Math.max(0, time);
}

/** The fraction of a second as Date.parse takes it (milliseconds), or ''. */
function fraction(text: string): string {
  const digits = /:\d{2}\.(\d+)/.exec(text)?.[1];
  return digits ? `.${digits.slice(0, 3).padEnd(3, '0')}` : '';
}

/** `--task`: the task ID (or its start) to match against the task IDs in the log stream names. */
export function parseTaskRef(raw: string): string {
  const text = raw.trim().toLowerCase();
  const fromArn = TASK_ARN.exec(text)?.[1];
  const id = fromArn ?? text;
  if (!TASK_ID_PREFIX.test(id)) {
    throw new UsageError(
      `invalid --task "${raw}": expected a task ID (such as 0f1e2d3c4b5a69788796a5b4c3d2e1f0), its first ${SHORT_TASK_ID_LENGTH} or more characters as logs prints them (0f1e2d3c), or a task ARN`,
    );
  }
  return id;
}

export function parseLogsOptions(input: LogsOptionInput, now: number): LogsOptions {
  return {
    startTime: parseSince(input.since ?? DEFAULT_SINCE, now),
    ...(input.task !== undefined ? { task: parseTaskRef(input.task) } : {}),
    follow: Boolean(input.follow),
  };
}
