import { parseLogsOptions, type LogsOptionInput } from '../logs/options.js';
import { logsTarget, runLogs } from '../logs/run.js';
import { readStackState, type Session } from '../session.js';
import { abortOnInterrupt } from './interrupt.js';
import { openSession, validateCommon, type CommonOptions } from './session.js';

export interface LogsCliOptions extends CommonOptions, LogsOptionInput {}

/** Set once stdout failed (EPIPE: the reader went away); then nothing more is written. */
let stdoutClosed = false;
const onStdoutClosed = new Set<() => void>();
let stdoutWatched = false;

/**
 * Log lines are data, printed as they are: not through the reporter, which holds results back
 * under --json (here each line is its own JSON object) and rewrites `ecs-ha …` text for --local.
 * A reader that goes away (`ecs-ha logs | head`) ends the command quietly, as it does `tail`. The
 * listener stays for the life of the process: writes already queued fail after the command ended,
 * and an 'error' event nobody hears would crash it.
 */
function stdoutLines(onClosed: () => void): { print: (line: string) => void; dispose: () => void } {
  if (!stdoutWatched) {
    stdoutWatched = true;
    process.stdout.on('error', () => {
      stdoutClosed = true;
      for (const notify of onStdoutClosed) notify();
    });
  }
  onStdoutClosed.add(onClosed);
  return {
    print: (line) => {
      if (!stdoutClosed) process.stdout.write(`${line}\n`);
    },
    dispose: () => onStdoutClosed.delete(onClosed),
  };
}

/** `ecs-ha logs`: the app's log lines from the stack's log group; with --follow, until Ctrl-C. */
export async function logsAction(options: LogsCliOptions): Promise<void> {
  validateCommon(options);
  const logs = parseLogsOptions(options, Date.now());
  let session: Session | undefined;
  // Its message speaks of saving state, which logs has none of: the error at the end says it instead.
  const interrupt = abortOnInterrupt(() => undefined);
  const readerGone = new AbortController();
  const output = stdoutLines(() => readerGone.abort());
  try {
    session = await openSession(options, interrupt.signal, false);
    const target = logsTarget(await readStackState(session));
    await runLogs(session, target, logs, {
      print: output.print,
      json: Boolean(options.json),
      signal: AbortSignal.any([interrupt.signal, readerGone.signal]),
      interrupted: () => interrupt.signal.aborted,
    });
  } finally {
    session?.reporter.stop();
    // A live tail's connection may still be open after Ctrl-C: it must not keep the process alive.
    session?.aws.logs.destroy();
    output.dispose();
    interrupt.dispose();
  }
}
