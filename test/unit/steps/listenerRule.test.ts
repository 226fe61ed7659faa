import { CreateRuleCommand, DeleteRuleCommand, DescribeRulesCommand, DescribeTagsCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { listenerArnOfRule, listenerRuleStep } from '../../../src/steps/listenerRule.js';
import { testContext, type TestContext } from '../../helpers/context.js';

const elbv2 = mockClient(ElasticLoadBalancingV2Client);
const listenerArn = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/demo-alb/50dc6c495c0c9188/f2f7dc8efc522ab2';
const ruleArn = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/demo-alb/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee';
const blue = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/demo-tg/0123456789abcdef';
const green = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/demo-tg2/fedcba9876543210';
const ownRule = {
  RuleArn: ruleArn,
  Priority: '1',
  Actions: [{ Type: 'forward' as const, ForwardConfig: { TargetGroups: [{ TargetGroupArn: blue, Weight: 0 }, { TargetGroupArn: green, Weight: 100 }] } }],
};

function stack(strategy: 'rolling' | 'blue-green'): TestContext {
  const ctx = testContext({ config: strategy === 'rolling' ? {} : { deployment: { strategy, bakeMinutes: 2 } } });
  ctx.state.record('listener', { id: listenerArn, arn: listenerArn, origin: 'created' });
  ctx.state.record('targetGroup', { id: blue, arn: blue, origin: 'created' });
  ctx.state.record('alternateTargetGroup', { id: green, arn: green, origin: 'created' });
  return ctx;
}

const writes = () => elbv2.calls().filter((call) => !/^Describe/.test(call.args[0].constructor.name));

beforeEach(() => elbv2.reset());

describe('listener rule step', () => {
  it('creates a tagged rule of priority 1 on /* forwarding 100/0 to both target groups, and records it', async () => {
    const ctx = stack('blue-green');
    elbv2.on(DescribeRulesCommand).resolves({ Rules: [{ RuleArn: 'default', Priority: 'default', IsDefault: true }] });
    elbv2.on(DescribeTagsCommand).resolves({ TagDescriptions: [] });
    elbv2.on(CreateRuleCommand).resolves({ Rules: [{ RuleArn: ruleArn }] });
    expect(await listenerRuleStep.ensure(ctx)).toContain('created listener rule 1');
    expect(elbv2.commandCalls(CreateRuleCommand)[0]!.args[0].input).toEqual({
      ListenerArn: listenerArn,
      Priority: 1,
      Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/*'] } }],
      Actions: [{ Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: blue, Weight: 100 }, { TargetGroupArn: green, Weight: 0 }] } }],
      Tags: [{ Key: 'ecs-ha:stack', Value: 'demo' }],
    });
    expect(ctx.state.get('listenerRule')).toEqual({ id: ruleArn, arn: ruleArn, origin: 'created' });
  });

  it('on a re-run changes nothing, whatever weights ECS left', async () => {
    const ctx = stack('blue-green');
    ctx.state.record('listenerRule', { id: ruleArn, arn: ruleArn, origin: 'created' });
    elbv2.on(DescribeRulesCommand).resolves({ Rules: [ownRule] });
    elbv2.on(DescribeTagsCommand).resolves({ TagDescriptions: [{ ResourceArn: ruleArn, Tags: [{ Key: 'ecs-ha:stack', Value: 'demo' }] }] });
    expect(await listenerRuleStep.ensure(ctx)).toBe('listener rule 1 exists');
    expect(writes()).toEqual([]);
  });

  it('keeps an adopted rule on down and finds only a tagged one without state', async () => {
    const ctx = stack('blue-green');
    elbv2.on(DescribeRulesCommand).resolves({ Rules: [ownRule] });
    elbv2.on(DescribeTagsCommand).resolves({ TagDescriptions: [{ ResourceArn: ruleArn, Tags: [] }] });
    expect(await listenerRuleStep.ensure(ctx)).toContain('adopted');
    expect(await listenerRuleStep.destroy(ctx)).toBe('kept listener rule (adopted)');
    expect(elbv2.commandCalls(DeleteRuleCommand)).toEqual([]);
    await listenerRuleStep.discover(ctx);
    expect(ctx.state.get('listenerRule')).toBeUndefined();
  });

  it('down deletes a created rule; discover records a tagged one', async () => {
    const ctx = stack('blue-green');
    elbv2.on(DescribeRulesCommand).resolves({ Rules: [ownRule] });
    elbv2.on(DescribeTagsCommand).resolves({ TagDescriptions: [{ ResourceArn: ruleArn, Tags: [{ Key: 'ecs-ha:stack', Value: 'demo' }] }] });
    await listenerRuleStep.discover(ctx);
    expect(ctx.state.get('listenerRule')?.origin).toBe('created');
    elbv2.on(DeleteRuleCommand).resolves({});
    expect(await listenerRuleStep.destroy(ctx)).toBe('deleted listener rule');
    expect(elbv2.commandCalls(DeleteRuleCommand)[0]!.args[0].input).toEqual({ RuleArn: ruleArn });
  });

  it('with rolling makes nothing and plans none', async () => {
    const ctx = stack('rolling');
    expect(await listenerRuleStep.ensure(ctx)).toContain('no listener rule');
    expect(elbv2.calls()).toEqual([]);
    expect(await listenerRuleStep.plan!(ctx as never)).toMatchObject({ action: 'none' });
  });

  it('derives the listener from a rule ARN', () => {
    expect(listenerArnOfRule(ruleArn)).toBe(listenerArn);
  });
});
