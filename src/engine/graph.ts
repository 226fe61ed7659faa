import type { Step, StepId } from './step.js';

export interface GraphOptions {
  /** Walk the graph backwards: a step runs once every step that depends on it is done. */
  reverse?: boolean;
  /** At most this many steps at once; default: as many as the graph allows. */
  concurrency?: number;
  /** When aborted, no further step starts; the ones running finish. */
  signal?: AbortSignal;
}

/** Checks that every dependency names a known step and that there is no cycle. */
export function checkGraph(steps: readonly Step[]): void {
  const ids = new Set(steps.map((s) => s.id));
  for (const step of steps) {
    for (const dep of step.dependsOn) {
      if (!ids.has(dep)) throw new Error(`step ${step.id} depends on unknown step ${dep}`);
    }
  }
  const visiting = new Set<StepId>();
  const done = new Set<StepId>();
  const byId = new Map(steps.map((s) => [s.id, s]));
  const visit = (id: StepId, path: StepId[]): void => {
    if (done.has(id)) return;
    if (visiting.has(id)) throw new Error(`step graph has a cycle: ${[...path, id].join(' → ')}`);
    visiting.add(id);
    for (const dep of byId.get(id)!.dependsOn) visit(dep, [...path, id]);
    visiting.delete(id);
    done.add(id);
  };
  for (const step of steps) visit(step.id, []);
}

/**
 * Runs `action` for every step, each as soon as what it waits for is done, in parallel up to
 * `concurrency`. On the first failure no new step starts; the running ones finish, then the
 * first error is thrown. Returns the steps that ran to completion, in completion order.
 */
export async function runGraph(
  steps: readonly Step[],
  action: (step: Step) => Promise<void>,
  options: GraphOptions = {},
): Promise<StepId[]> {
  checkGraph(steps);
  const limit = options.concurrency ?? Number.POSITIVE_INFINITY;
  // waitsFor: the steps that must finish before this one may start.
  const waitsFor = new Map<StepId, Set<StepId>>(steps.map((s) => [s.id, new Set<StepId>()]));
  for (const step of steps) {
    for (const dep of step.dependsOn) {
      if (options.reverse) waitsFor.get(dep)!.add(step.id);
      else waitsFor.get(step.id)!.add(dep);
    }
  }
  const pending = new Map(steps.map((s) => [s.id, s]));
  const completed: StepId[] = [];
  const running = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;

  const startReady = (): void => {
    for (const [id, step] of pending) {
      if (failure || options.signal?.aborted || running.size >= limit) return;
      if ([...waitsFor.get(id)!].some((dep) => !completed.includes(dep))) continue;
      pending.delete(id);
      const run: Promise<void> = action(step).then(
        () => {
          completed.push(id);
        },
        (error: unknown) => {
          failure ??= { error };
        },
      );
      const tracked = run.finally(() => running.delete(tracked));
      running.add(tracked);
    }
  };

  startReady();
  while (running.size > 0) {
    await Promise.race(running);
    startReady();
  }
  if (failure) throw failure.error;
  return completed;
}
