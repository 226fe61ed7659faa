/**
 * `ecs-ha logs`: the lines of the stack's log group since a time, oldest first, each with its task
 * and AZ; with follow, then the new ones until the signal aborts.
 */
import { resourceNames } from '../config.js';
import { InterruptedError, OperationError } from '../errors.js';
import type { Session } from '../session.js';
import type { StateFile } from '../state/store.js';
import { fetchLines, streamsOfTask, type LogLine, type LogSource } from './events.js';
import { EventPoller, follow, liveTailImpossibleAt } from './follow.js';
import { formatJson, formatText } from './format.js';
import type { LogsOptions } from './options.js';
import { TaskZones } from './zones.js';

/** Where the stack's tasks log, read from its state file. */
export interface LogsTarget {
  group: string;
  /** The group's ARN (live tail names groups by ARN); absent in state files that lack it. */
  groupArn?: string;
  cluster: string;
}

export function logsTarget(state: StateFile): LogsTarget {
  const names = resourceNames(state.stack);
  const group = state.resources.logGroup;
  if (!group) {
    throw new OperationError(
      `stack "${state.stack}" has no log group in its state file, so there are no logs to show`,
      `run \`ecs-ha up --stack ${state.stack}\` first`,
    );
  }
  const serviceCluster = state.resources.service?.details?.cluster;
  return {
    group: group.id,
    ...(group.arn ? { groupArn: group.arn.replace(/:\*$/, '') } : {}),
    cluster: typeof serviceCluster === 'string' ? serviceCluster : (state.resources.cluster?.id ?? names.cluster),
  };
}

export interface LogsRun {
  /** Writes one printed line (text or JSON) to stdout. */
  print: (line: string) => void;
  json: boolean;
  /** Aborts on Ctrl-C, or when stdout is closed (`ecs-ha logs | head`). */
  signal: AbortSignal;
  /** Whether the abort was Ctrl-C (exit 130) rather than a closed stdout (exit 0). */
  interrupted: () => boolean;
}

/** Prints the lines; resolves when done (or when stdout closed), throws InterruptedError on Ctrl-C. */
export async function runLogs(session: Session, target: LogsTarget, options: LogsOptions, run: LogsRun): Promise<void> {
  const { reporter } = session;
  const source: LogSource = { logs: session.aws.logs, group: target.group, signal: run.signal };
  const zones = new TaskZones(session.aws.ecs, target.cluster, (message) => reporter.warn(message), run.signal);
  let printed = 0;
  const emit = async (lines: LogLine[]): Promise<void> => {
    if (lines.length === 0 || run.signal.aborted) return;
    await zones.learn(lines.map((line) => line.taskId));
    for (const line of lines) {
      if (run.signal.aborted) return;
      const zone = zones.zoneOf(line.taskId);
      run.print(run.json ? formatJson(line, zone) : formatText(line, zone));
      printed += 1;
    }
  };

  try {
    const streams = options.task ? await streamsOfTask(source, options.task) : undefined;
    if (!options.follow) {
      await emit(await fetchLines(source, options.startTime, streams));
      if (printed === 0 && !run.signal.aborted) reporter.info(`no log lines in ${target.group} since ${new Date(options.startTime).toISOString()}${options.task ? ` from task ${options.task}` : ''}`);
    } else {
      const poller = new EventPoller(source, options.startTime, streams);
      await emit(await poller.poll(session.clock.now()));
      const impossible = liveTailImpossibleAt(session.aws.settings.endpointUrl);
      await follow({
        source,
        poller,
        liveTail: target.groupArn && !impossible ? { groupArn: target.groupArn } : { unavailable: impossible ?? 'the state file does not record the log group\'s ARN, which live tail needs' },
        ...(streams ? { streams } : {}),
        clock: session.clock,
        emit,
        info: (message) => reporter.info(message),
        warn: (message) => reporter.warn(message),
      });
    }
  } catch (error) {
    // A call cut short by the abort: the abort decides how the command ends, not the call.
    if (!run.signal.aborted) throw error;
  }
  if (run.interrupted()) throw new InterruptedError(`interrupted: stopped ${options.follow ? 'following' : 'reading'} ${target.group}`);
}
