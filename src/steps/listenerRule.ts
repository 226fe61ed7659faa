import { CreateRuleCommand, DeleteRuleCommand, DescribeRulesCommand, DescribeTagsCommand, type Action, type Rule, type RuleCondition } from '@aws-sdk/client-elastic-load-balancing-v2';
import { isAwsError } from '../aws/errors.js';
import { existingResource, type ReadContext } from '../engine/plan.js';
import type { Step, StepContext } from '../engine/step.js';
import { GONE, judge, recordProblem, tagProblem } from '../engine/ownership.js';
import { hasStackTag, stackTag } from '../engine/tags.js';
import { EnvironmentError } from '../errors.js';
import { NOT_NATIVE, wantsNativeStrategy } from './alternateTargetGroup.js';
import { listenerStep } from './listener.js';

const RULE_NOT_FOUND = ['RuleNotFound', 'RuleNotFoundException'];
const LISTENER_NOT_FOUND = ['ListenerNotFound', 'ListenerNotFoundException'];

/** One rule per listener: the first one evaluated, matching every path, so it carries all traffic ECS shifts. */
export const RULE_PRIORITY = 1;
export const RULE_CONDITIONS: RuleCondition[] = [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/*'] } }];

/** Both target groups in one forward action; ECS moves the weights during a deployment, starting all on the first. */
export function initialForward(blueArn: string, greenArn: string): Action[] {
  return [{ Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: blueArn, Weight: 100 }, { TargetGroupArn: greenArn, Weight: 0 }] } }];
}

/** Whether the rule forwards to both target groups, whatever the weights are now (ECS changes them). */
function forwardsToBoth(rule: Rule, blueArn: string, greenArn: string): boolean {
  const groups = (rule.Actions ?? []).flatMap((a) => (a.Type === 'forward' ? (a.ForwardConfig?.TargetGroups ?? []).map((t) => t.TargetGroupArn) : []));
  return groups.includes(blueArn) && groups.includes(greenArn);
}

/** `…:listener-rule/app/<lb>/<lb-id>/<listener-id>/<rule-id>` → the listener's ARN. */
export function listenerArnOfRule(ruleArn: string): string {
  return ruleArn.replace(':listener-rule/', ':listener/').replace(/\/[^/]+$/, '');
}

async function rulesOf(ctx: ReadContext, listenerArn: string): Promise<Rule[]> {
  const { Rules = [] } = await ctx.aws.elbv2.send(new DescribeRulesCommand({ ListenerArn: listenerArn }));
  return Rules;
}

async function isTagged(ctx: ReadContext, arn: string): Promise<boolean> {
  const { TagDescriptions = [] } = await ctx.aws.elbv2.send(new DescribeTagsCommand({ ResourceArns: [arn] }));
  return hasStackTag(TagDescriptions[0]?.Tags, ctx.config.stack);
}

/** The rule at our priority, and whether it is ours (tagged) or someone's (adopted when it forwards to both groups). */
async function findRule(ctx: ReadContext, listenerArn: string): Promise<{ rule: Rule; tagged: boolean } | undefined> {
  const rule = (await rulesOf(ctx, listenerArn)).find((r) => r.Priority === String(RULE_PRIORITY));
  if (!rule?.RuleArn) return undefined;
  return { rule, tagged: await isTagged(ctx, rule.RuleArn) };
}

function unusable(ctx: ReadContext): EnvironmentError {
  return new EnvironmentError(
    `the listener on port ${ctx.config.listenerPort} has a rule of priority ${RULE_PRIORITY} that was not created by ecs-ha and does not forward to both ${ctx.names.targetGroup} and ${ctx.names.alternateTargetGroup}`,
    'ecs-ha does not change resources it did not create: remove that rule, or use another --stack',
  );
}

function record(ctx: StepContext, arn: string, origin: 'created' | 'adopted'): void {
  ctx.state.record('listenerRule', { id: arn, arn, origin });
}

/**
 * The listener rule whose traffic ECS shifts between the two target groups (the production listener
 * rule of the service's advancedConfiguration). Only a stack deploying blue/green, linear or canary has it.
 */
export const listenerRuleStep: Step = {
  id: 'listenerRule',
  title: 'listener rule',
  dependsOn: ['listener', 'targetGroup', 'alternateTargetGroup'],

  async ensure(ctx) {
    if (!wantsNativeStrategy(ctx)) return `no listener rule (${NOT_NATIVE})${ctx.state.get('listenerRule') ? '; the recorded one is kept until `down`' : ''}`;
    const listenerArn = ctx.state.require('listener').id;
    const blue = ctx.state.require('targetGroup').id;
    const green = ctx.state.require('alternateTargetGroup').id;
    const recorded = ctx.state.get('listenerRule');
    const found = await findRule(ctx, listenerArn);
    if (found) {
      const arn = found.rule.RuleArn!;
      const same = recorded?.id === arn;
      const origin = same ? recorded.origin : found.tagged ? 'created' : 'adopted';
      if (!forwardsToBoth(found.rule, blue, green)) throw unusable(ctx);
      if (!same || recorded.origin !== origin) record(ctx, arn, origin);
      // The weights are ECS's to move: a rule found mid-deployment is left as it is.
      if (origin === 'adopted') return `adopted listener rule ${RULE_PRIORITY} (not created by ecs-ha, will be kept)`;
      return `listener rule ${RULE_PRIORITY} ${same ? 'exists' : 'found'}`;
    }
    const { Rules = [] } = await ctx.aws.elbv2.send(
      new CreateRuleCommand({ ListenerArn: listenerArn, Priority: RULE_PRIORITY, Conditions: RULE_CONDITIONS, Actions: initialForward(blue, green), Tags: [stackTag(ctx.config.stack)] }),
    );
    record(ctx, Rules[0]!.RuleArn!, 'created');
    return `created listener rule ${RULE_PRIORITY} (/* → ${ctx.names.targetGroup} 100, ${ctx.names.alternateTargetGroup} 0)`;
  },

  async plan(ctx) {
    const resource = `listener rule ${RULE_PRIORITY}`;
    if (!wantsNativeStrategy(ctx)) return { action: 'none', resource, detail: NOT_NATIVE };
    const created = `path /* forwards to ${ctx.names.targetGroup} (weight 100) and ${ctx.names.alternateTargetGroup} (weight 0)`;
    if (ctx.state.isNew('listener') || ctx.state.isNew('targetGroup') || ctx.state.isNew('alternateTargetGroup')) {
      ctx.state.foreseeNew('listenerRule', 'listener rule');
      return { action: 'create', resource, detail: created };
    }
    const recorded = ctx.state.get('listenerRule');
    const found = await findRule(ctx, ctx.state.require('listener').id);
    if (found) {
      const arn = found.rule.RuleArn!;
      const same = recorded?.id === arn;
      const origin = same ? recorded.origin : found.tagged ? 'created' : 'adopted';
      if (!forwardsToBoth(found.rule, ctx.state.require('targetGroup').id, ctx.state.require('alternateTargetGroup').id)) throw unusable(ctx);
      if (!same || recorded.origin !== origin) ctx.state.foresee('listenerRule', { id: arn, arn, origin });
      return existingResource(resource, same, origin);
    }
    ctx.state.foreseeNew('listenerRule', 'listener rule');
    return { action: 'create', resource, detail: created };
  },

  /** A rule has no name: it is the stack's when it carries the stack's tag and its listener is the stack's. */
  async proveOwnership(ctx, record) {
    const early = judge(recordProblem(record, ctx.state), !record.id.startsWith('arn:') && `"${record.id}" is not a listener rule ARN`);
    if (early.kind !== 'ours') return early;
    try {
      const { Rules = [] } = await ctx.aws.elbv2.send(new DescribeRulesCommand({ RuleArns: [record.id] }));
      if (Rules.length === 0) return GONE;
    } catch (error) {
      if (isAwsError(error, ...RULE_NOT_FOUND)) return GONE;
      throw error;
    }
    const parent = await listenerStep.proveOwnership!(ctx, { id: listenerArnOfRule(record.id), origin: 'created' });
    if (parent.kind === 'not-ours') return judge(`its listener is not this stack's: ${parent.reason}`);
    if (parent.kind === 'gone') return GONE;
    return judge(tagProblem(await isTagged(ctx, record.id), ctx.config.stack));
  },

  async destroy(ctx) {
    const recorded = ctx.state.get('listenerRule');
    if (!recorded) return 'no listener rule recorded';
    if (recorded.origin === 'adopted') {
      ctx.state.forget('listenerRule');
      return 'kept listener rule (adopted)';
    }
    try {
      await ctx.aws.elbv2.send(new DeleteRuleCommand({ RuleArn: recorded.id }));
    } catch (error) {
      if (!isAwsError(error, ...RULE_NOT_FOUND)) throw error;
    }
    ctx.state.forget('listenerRule');
    return 'deleted listener rule';
  },

  async discover(ctx) {
    const listener = ctx.state.get('listener');
    if (!listener) return;
    let found: { rule: Rule; tagged: boolean } | undefined;
    try {
      found = await findRule(ctx, listener.id);
    } catch (error) {
      if (isAwsError(error, ...LISTENER_NOT_FOUND)) return;
      throw error;
    }
    if (found?.tagged) record(ctx, found.rule.RuleArn!, 'created');
  },
};
