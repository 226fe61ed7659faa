/**
 * For the steps' plan tests: a plan context over a test context, and the check that a step's plan
 * says what its ensure then does on the same (mocked) answers of AWS.
 */
import { expect } from 'vitest';
import { isMutatingOperation } from '../../../src/aws/clients.js';
import { PlannedState, type PlanContext, type PlannedChange } from '../../../src/engine/plan.js';
import type { Step } from '../../../src/engine/step.js';
import type { TestContext } from '../../helpers/context.js';

/** A plan context over a test context: the test's state is the recorded one; what the plan foresees goes into a PlannedState. */
export function planContext(ctx: TestContext): PlanContext {
  return { ...ctx, state: new PlannedState(ctx.state) };
}

interface MockedClient {
  calls(): Array<{ args: readonly unknown[] }>;
}

/** The mutating calls the mocked clients received so far, by operation name ("CreateLogGroup"). */
export function writesOf(...clients: MockedClient[]): () => string[] {
  return () =>
    clients
      .flatMap((client) => client.calls())
      .map((call) => (call.args[0] as object).constructor.name.replace(/Command$/, ''))
      .filter(isMutatingOperation);
}

/** The one change a step plans (every step but none plans one). */
export function single(planned: PlannedChange | PlannedChange[]): PlannedChange {
  if (!Array.isArray(planned)) return planned;
  expect(planned).toHaveLength(1);
  return planned[0]!;
}

/** Whether what ensure did is what the planned action says. */
function agrees(action: PlannedChange['action'], writes: string[], adoptedAnew: boolean, recordChanged: boolean): boolean {
  switch (action) {
    case 'create':
      return writes.some((operation) => /^(Create|Register)/.test(operation));
    case 'update':
      // In place; or, for what ecs-ha never changes in AWS (the network), only in what the state records.
      return writes.length > 0 ? !writes.some((operation) => /^Create/.test(operation)) : recordChanged;
    case 'delete':
      return writes.some((operation) => /^(Delete|Deregister)/.test(operation));
    case 'adopt':
      return writes.length === 0 && adoptedAnew;
    case 'keep':
    case 'none':
      return writes.length === 0 && !adoptedAnew;
    case 'unknown':
      return false;
  }
}

/**
 * Plans the step, then runs its ensure on the same mocked answers, and checks the plan said what
 * ensure then did: create → a Create/Register call; update → a change in place (for the network,
 * of its record); delete → a Delete/Deregister call; adopt → no write, and the resource newly
 * recorded as adopted; keep and none → no write at all. The plan itself wrote nothing (no call, no record), and what it foresaw
 * for later steps is what ensure recorded (except the IDs AWS gives new resources). Returns the
 * planned change.
 */
export async function planThenEnsure(step: Step, ctx: TestContext, writes: () => string[]): Promise<PlannedChange> {
  const key = step.id;
  const recordedBefore = ctx.state.get(key);
  const planCtx = planContext(ctx);
  const change = single(await step.plan!(planCtx));
  expect(writes(), 'the plan made a mutating call').toEqual([]);
  expect(ctx.state.get(key), 'the plan changed the state').toEqual(recordedBefore);

  await step.ensure(ctx);
  const made = writes();
  const recordedAfter = ctx.state.get(key);
  const adoptedAnew = recordedAfter?.origin === 'adopted' && (recordedBefore?.origin !== 'adopted' || recordedBefore.id !== recordedAfter.id);
  const recordChanged = JSON.stringify(recordedAfter) !== JSON.stringify(recordedBefore);
  expect(agrees(change.action, made, adoptedAnew, recordChanged), `planned "${change.action}" (${change.detail ?? ''}), but ensure made [${made.join(', ')}]${adoptedAnew ? ' and adopted it' : ''}`).toBe(true);

  const foreseen = planCtx.state.get(key);
  const placeholder = foreseen?.id.startsWith('(new ') ?? false;
  if (foreseen && recordedAfter && !placeholder) {
    expect({ id: foreseen.id, origin: foreseen.origin, ...(foreseen.arn !== undefined ? { arn: foreseen.arn } : {}) }, 'what the plan foresaw is what ensure recorded').toEqual({
      id: recordedAfter.id,
      origin: recordedAfter.origin,
      ...(foreseen.arn !== undefined ? { arn: recordedAfter.arn } : {}),
    });
  }
  return change;
}
