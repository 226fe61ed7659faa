/** How a log line is printed: a text line prefixed by time, task and AZ, or one JSON object. */
import type { LogLine } from './events.js';
import { SHORT_TASK_ID_LENGTH } from './options.js';

/** What an AZ the tasks' ECS record no longer holds shows as. */
export const UNKNOWN_ZONE = '?';
/** us-east-1a: most AZ names have this length, so columns line up. */
const ZONE_WIDTH = 10;

export function shortTaskId(taskId: string): string {
  return taskId.slice(0, SHORT_TASK_ID_LENGTH);
}

/** `2026-05-01T12:00:00.123Z 0f1e2d3c us-east-1a <message>` */
export function formatText(line: LogLine, zone: string | undefined): string {
  return `${new Date(line.timestamp).toISOString()} ${shortTaskId(line.taskId)} ${(zone ?? UNKNOWN_ZONE).padEnd(ZONE_WIDTH)} ${line.message}`;
}

/** The --json form of a line: one object, on one line. `az` is null when it is not known. */
export interface LogLineJson {
  time: string;
  task: string;
  az: string | null;
  container: string | null;
  stream: string;
  message: string;
}

export function formatJson(line: LogLine, zone: string | undefined): string {
  const body: LogLineJson = {
    time: new Date(line.timestamp).toISOString(),
    task: line.taskId,
    az: zone ?? null,
    container: line.container ?? null,
    stream: line.stream,
    message: line.message,
  };
  return JSON.stringify(body);
}
