import { attributeCallsTo } from '../aws/clients.js';
import { awsErrorCode, awsErrorMessage, failedOperation, hintFor, isCredentialsError } from '../aws/errors.js';
import { interruptibleClock } from '../clock.js';
import { AwsStepError, EcsHaError, EnvironmentError, InterruptedError } from '../errors.js';
import type { Reporter } from '../ui/reporter.js';
import { runGraph } from './graph.js';
import { destroyProvenOwn, type Removal } from './ownership.js';
import type { StackResources, Step, StepContext } from './step.js';

export interface Engine extends StackResources {
  /** When the command's --timeout runs out (clock time); each step gets what is left of it. */
  deadline?: number;
  reporter: Reporter;
  concurrency?: number;
  signal?: AbortSignal;
}

export type Phase = 'ensure' | 'destroy' | 'discover';

const verbs: Record<Phase, string> = { ensure: 'ensuring', destroy: 'removing', discover: 'looking for' };

export function stepContext(engine: Engine, step: Step): StepContext {
  const { config, names, aws, state, runner } = engine;
  return {
    config,
    names,
    aws,
    state,
    runner,
    waitTimeoutMs: engine.deadline === undefined ? engine.waitTimeoutMs : Math.max(0, engine.deadline - engine.clock.now()),
    clock: interruptibleClock(engine.clock, engine.signal),
    progress: (message) => engine.reporter.progress(step.id, `${step.title}: ${message}`),
    notice: (message) => engine.reporter.warn(message),
  };
}

/** Turns whatever a step threw into an error that names the step, the call and AWS's message. */
export function explainStepError(step: Step, error: unknown): EcsHaError {
  if (error instanceof EcsHaError) return error;
  if (isCredentialsError(error)) {
    return new EnvironmentError(`${step.title}: AWS rejected the credentials: ${awsErrorMessage(error)}`, 'refresh or configure your AWS credentials', {
      cause: error,
    });
  }
  const code = awsErrorCode(error) || 'Error';
  return new AwsStepError(step.title, failedOperation(error) ?? 'a call', code, awsErrorMessage(error), hintFor(code), { cause: error });
}

/**
 * Runs one phase over the step graph (forward for ensure/discover, reversed for destroy),
 * reporting each step. Stops starting steps on Ctrl-C and throws InterruptedError once the
 * running ones have finished and saved their state.
 */
/** Starts every step's lookup at once (ensure, no concurrency limit only: `--concurrency 1` means one call at a time). */
function prefetchLookups(engine: Engine, steps: readonly Step[], phase: Phase): Map<string, Promise<unknown>> {
  const started = new Map<string, Promise<unknown>>();
  if (phase !== 'ensure' || engine.concurrency !== undefined) return started;
  for (const step of steps) {
    if (!step.lookup) continue;
    const lookup = step.lookup.bind(step);
    const result = attributeCallsTo(step.id, () => lookup(stepContext(engine, step)));
    result.catch(() => undefined); // the step's ensure awaits it and reports the error
    started.set(step.id, result);
  }
  return started;
}

export async function runPhase(engine: Engine, steps: readonly Step[], phase: Phase): Promise<StepOutcome[]> {
  const outcomes: StepOutcome[] = [];
  const prefetched = prefetchLookups(engine, steps, phase);
  try {
    await runSteps(engine, steps, phase, prefetched, outcomes);
  } finally {
    // No lookup may outlive the phase (a failed run still lets them finish before reporting).
    await Promise.allSettled(prefetched.values());
  }
  return outcomes;
}

/** For ensure: every step that changes something also waits for the steps that check the environment. */
export function gatedByEnvironmentChecks(steps: readonly Step[]): Step[] {
  const checks = steps.filter((step) => step.checksEnvironment).map((step) => step.id);
  return steps.map((step) => (step.checksEnvironment ? step : { ...step, dependsOn: [...new Set([...step.dependsOn, ...checks])] }));
}

async function runSteps(engine: Engine, steps: readonly Step[], phase: Phase, prefetched: Map<string, Promise<unknown>>, outcomes: StepOutcome[]): Promise<void> {
  await runGraph(
    phase === 'ensure' ? gatedByEnvironmentChecks(steps) : steps,
    async (step) => {
      engine.reporter.start(step.id, `${verbs[phase]} ${step.title}`);
      try {
        const early = prefetched.get(step.id);
        const ctx = { ...stepContext(engine, step), ...(early ? { prefetched: early } : {}) };
        const { summary, removals } = await attributeCallsTo(step.id, async (): Promise<{ summary: string; removals?: Removal[] }> => {
          if (phase === 'destroy') return destroyProvenOwn(step, ctx);
          if (phase === 'ensure') return { summary: await step.ensure(ctx) };
          await step.discover(ctx);
          return { summary: '' };
        });
        engine.reporter.succeed(step.id, summary || `${step.title}: checked`);
        outcomes.push({ step: step.id, title: step.title, summary, ...(removals ? { removals } : {}) });
      } catch (error) {
        const explained = explainStepError(step, error);
        engine.reporter.fail(step.id, explained.message.startsWith(step.title) ? explained.message : `${step.title}: ${explained.message}`);
        throw explained;
      }
    },
    { reverse: phase === 'destroy', concurrency: engine.concurrency, signal: engine.signal },
  );
  if (engine.signal?.aborted) throw new InterruptedError('interrupted: the calls in flight finished and the state was saved; run the command again to resume');
}

export interface StepOutcome {
  step: string;
  title: string;
  summary: string;
  /** destroy: what became of each record the step had (deleted, already gone, skipped, kept). */
  removals?: Removal[];
}
