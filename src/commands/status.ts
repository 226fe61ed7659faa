import { parseInteger } from '../config.js';
import { OperationError } from '../errors.js';
import { stackRefs, type StackRefs } from '../inspect/stack.js';
import { readStackState, type Session } from '../session.js';
import type { StateFile } from '../state/store.js';
import { gatherStatus, type StackStatus } from '../status/gather.js';
import { formatStatus } from '../status/render.js';
import { openSession, validateCommon, type CommonOptions } from './session.js';
import { interruptSignal } from './interrupt.js';

export interface StatusCliOptions extends CommonOptions {
  watch?: boolean;
  interval: string;
}

/** Moves the cursor home and clears the terminal, so each refresh of --watch replaces the last. */
const CLEAR_SCREEN = '\x1b[H\x1b[2J';

/**
 * With --watch, Ctrl-C is how the user ends it: the first one stops the loop after the reads in
 * flight (exit 0), a second one exits at once. Without --watch, Node's default applies.
 */
function stopOnInterrupt(): { signal: AbortSignal; dispose: () => void } {
  return interruptSignal(() => undefined);
}

/** One look at the stack. Against an emulator, the scaling activities moto lacks are not asked for. */
export function readStatus(session: Session, refs: StackRefs, state: StateFile): Promise<StackStatus> {
  const endpoint = session.emulatorEndpoint;
  return gatherStatus(session.aws, refs, state, {
    now: () => session.clock.now(),
    ...(endpoint ? { skipActivitiesBecause: `not read from the emulator at ${endpoint}: moto does not implement DescribeScalingActivities` } : {}),
  });
}

export function renderStatus(session: Session, status: StackStatus, options: { clear: boolean }): void {
  if (session.json) {
    session.reporter.json(status);
    return;
  }
  const lines = formatStatus(status, { local: session.local });
  session.reporter.result(`${options.clear ? CLEAR_SCREEN : ''}${lines.join('\n')}`);
}

/** Exit 1 when a part of the screen could not be read; the screen says which and why. */
export function failureOf(status: StackStatus): OperationError | undefined {
  if (status.unavailable.length === 0) return undefined;
  return new OperationError(`status could not read: ${status.unavailable.map((u) => u.part).join(', ')}`, 'the parts marked unavailable say why (permissions, or the resource is gone)');
}

/** `ecs-ha status [--watch]`: the stack on one screen, made with read calls only. */
export async function statusAction(options: StatusCliOptions): Promise<void> {
  validateCommon(options);
  const intervalMs = parseInteger('--interval', options.interval, 1, 3600) * 1000;
  const watch = Boolean(options.watch);
  const interrupt = watch ? stopOnInterrupt() : undefined;
  let session: Session | undefined;
  try {
    session = await openSession(options, interrupt?.signal ?? new AbortController().signal, false);
    const state = await readStackState(session);
    const refs = stackRefs(state);
    const clear = watch && !session.json && Boolean(process.stdout.isTTY);
    for (let frame = 0; ; frame++) {
      const status = await readStatus(session, refs, state);
      if (interrupt?.signal.aborted) return;
      // Plain output keeps every refresh: a blank line between them.
      if (watch && frame > 0 && !clear && !session.json) session.reporter.result('');
      renderStatus(session, status, { clear });
      if (!watch) {
        const failure = failureOf(status);
        if (failure) throw failure;
        return;
      }
      await session.clock.sleep(intervalMs, interrupt?.signal);
      if (interrupt?.signal.aborted) return;
    }
  } finally {
    session?.reporter.stop();
    interrupt?.dispose();
  }
}
