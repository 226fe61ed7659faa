import { isNative, wantedDeployment } from '../deploy/strategy.js';
import type { ReadContext } from '../engine/plan.js';
import { targetGroupStepFor } from './targetGroup.js';

/** Whether the stack deploys with a native strategy (blue/green, linear, canary): only then has it the extra resources. */
export function wantsNativeStrategy(ctx: ReadContext): boolean {
  return isNative(wantedDeployment(ctx.config.deployment, ctx.state.get('service')));
}

export const NOT_NATIVE = 'the stack deploys rolling; `up --strategy blue-green|linear|canary` makes it';

/**
 * The second target group of the native strategies (`<stack>-tg2`): ECS starts the new revision's
 * tasks in it and shifts the listener rule's weights to it. The same shape as `<stack>-tg`.
 */
export const alternateTargetGroupStep = targetGroupStepFor({
  id: 'alternateTargetGroup',
  title: 'alternate target group',
  nameOf: (names) => names.alternateTargetGroup,
  wanted: wantsNativeStrategy,
  notWantedBecause: NOT_NATIVE,
});
