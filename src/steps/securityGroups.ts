import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DeleteSecurityGroupCommand,
  DescribeSecurityGroupsCommand,
  type IpPermission,
  type SecurityGroup,
} from '@aws-sdk/client-ec2';
import { isAwsError } from '../aws/errors.js';
import { retryWhile } from '../aws/poll.js';
import { STACK_TAG_KEY } from '../config.js';
import { existingResource, type ReadContext } from '../engine/plan.js';
import { lookedUp, type Step, type StepContext, type StepId } from '../engine/step.js';
import { GONE, judge, nameProblem, OURS, tagProblem } from '../engine/ownership.js';
import { hasStackTag, stackTag } from '../engine/tags.js';

/** One source an ingress rule must admit on one TCP port: a CIDR block or another security group. */
export type IngressSource = { cidrIpv4: string } | { cidrIpv6: string } | { groupId: string };

export interface IngressNeed {
  port: number;
  source: IngressSource;
}

function describeSource(source: IngressSource): string {
  if ('cidrIpv4' in source) return source.cidrIpv4;
  if ('cidrIpv6' in source) return source.cidrIpv6;
  return source.groupId;
}

/** True when one of the group's rules already lets this source in on this port. */
function isAllowed(permissions: IpPermission[], need: IngressNeed): boolean {
  return permissions.some((p) => {
    const coversPort = p.IpProtocol === '-1' || (p.IpProtocol === 'tcp' && (p.FromPort ?? 0) <= need.port && need.port <= (p.ToPort ?? 65535));
    if (!coversPort) return false;
    const { source } = need;
    if ('cidrIpv4' in source) return (p.IpRanges ?? []).some((r) => r.CidrIp === source.cidrIpv4);
    if ('cidrIpv6' in source) return (p.Ipv6Ranges ?? []).some((r) => r.CidrIpv6 === source.cidrIpv6);
    return (p.UserIdGroupPairs ?? []).some((pair) => pair.GroupId === source.groupId);
  });
}

/** The rules `needs` asks for that the group does not have yet. */
function missingIngress(group: SecurityGroup, needs: IngressNeed[]): IngressNeed[] {
  return needs.filter((need) => !isAllowed(group.IpPermissions ?? [], need));
}

function describeNeeds(needs: IngressNeed[]): string {
  return needs.map((need) => `tcp ${need.port} from ${describeSource(need.source)}`).join(', ');
}

function toPermission(need: IngressNeed, description: string): IpPermission {
  const base = { IpProtocol: 'tcp', FromPort: need.port, ToPort: need.port };
  const { source } = need;
  if ('cidrIpv4' in source) return { ...base, IpRanges: [{ CidrIp: source.cidrIpv4, Description: description }] };
  if ('cidrIpv6' in source) return { ...base, Ipv6Ranges: [{ CidrIpv6: source.cidrIpv6, Description: description }] };
  return { ...base, UserIdGroupPairs: [{ GroupId: source.groupId, Description: description }] };
}

/** What differs between the two groups: name, state key, who may come in. */
interface GroupSpec {
  key: 'albSecurityGroup' | 'taskSecurityGroup';
  title: string;
  dependsOn: StepId[];
  name(ctx: ReadContext): string;
  description(ctx: ReadContext): string;
  ingress(ctx: ReadContext): IngressNeed[];
  ruleDescription: string;
}

/** Groups of this name in any VPC: so the lookup need not wait for the network step; ensure picks the VPC's. */
async function groupsNamed(ctx: ReadContext, name: string): Promise<SecurityGroup[]> {
  const { SecurityGroups = [] } = await ctx.aws.ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-name', Values: [name] }] }));
  return SecurityGroups;
}

/** Authorizes only the rules the group lacks; a rule added meanwhile by someone else is fine. */
async function authorizeMissing(ctx: StepContext, groupId: string, missing: IngressNeed[], description: string): Promise<void> {
  if (missing.length === 0) return;
  try {
    await ctx.aws.ec2.send(
      new AuthorizeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: missing.map((need) => toPermission(need, description)) }),
    );
  } catch (error) {
    if (!isAwsError(error, 'InvalidPermission.Duplicate')) throw error;
  }
}

function makeStep(spec: GroupSpec): Step {
  return {
    id: spec.key,
    title: spec.title,
    dependsOn: spec.dependsOn,
    lookup: (ctx) => groupsNamed(ctx, spec.name(ctx)),

    async ensure(ctx) {
      const vpcId = ctx.state.require('network').id;
      const name = spec.name(ctx);
      const needs = spec.ingress(ctx);
      const recorded = ctx.state.get(spec.key);
      const existing = (await lookedUp(ctx, (c) => groupsNamed(c, name))).find((group) => group.VpcId === vpcId);

      if (existing?.GroupId) {
        const groupId = existing.GroupId;
        const sameAsRecorded = recorded?.id === groupId;
        const origin = sameAsRecorded ? recorded.origin : hasStackTag(existing.Tags, ctx.config.stack) ? 'created' : 'adopted';
        if (!sameAsRecorded || recorded.origin !== origin) ctx.state.record(spec.key, { id: groupId, origin });
        const missing = missingIngress(existing, needs);
        if (origin === 'adopted') {
          for (const need of missing) {
            ctx.notice(`security group ${name} (${groupId}) was not created by ecs-ha and lacks ingress tcp ${need.port} from ${describeSource(need.source)}; add it yourself, ecs-ha does not change it`);
          }
          return `adopted security group ${name} ${groupId} (not created by ecs-ha, will be kept)`;
        }
        await authorizeMissing(ctx, groupId, missing, spec.ruleDescription);
        const fixed = missing.length > 0 ? `, added ${missing.length} missing ingress rule${missing.length > 1 ? 's' : ''}` : '';
        return `security group ${name} ${groupId} ${sameAsRecorded ? 'exists' : 'found'}${fixed}`;
      }

      const created = await ctx.aws.ec2.send(
        new CreateSecurityGroupCommand({
          GroupName: name,
          Description: spec.description(ctx),
          VpcId: vpcId,
          TagSpecifications: [{ ResourceType: 'security-group', Tags: [stackTag(ctx.config.stack), { Key: 'Name', Value: name }] }],
        }),
      );
      const groupId = created.GroupId!;
      ctx.state.record(spec.key, { id: groupId, origin: 'created' });
      // A new group has no ingress rules; its default allow-all egress stays (tasks pull from ECR).
      await authorizeMissing(ctx, groupId, needs, spec.ruleDescription);
      return `created security group ${name} ${groupId}`;
    },

    async plan(ctx) {
      const vpcId = ctx.state.require('network').id;
      const name = spec.name(ctx);
      const resource = `security group ${name}`;
      // A placeholder source (a group up would create first) is never allowed yet: its rule is to add.
      const needs = spec.ingress(ctx);
      const recorded = ctx.state.get(spec.key);
      const existing = (await groupsNamed(ctx, name)).find((group) => group.VpcId === vpcId);
      if (existing?.GroupId) {
        const groupId = existing.GroupId;
        const sameAsRecorded = recorded?.id === groupId;
        const origin = sameAsRecorded ? recorded.origin : hasStackTag(existing.Tags, ctx.config.stack) ? 'created' : 'adopted';
        if (!sameAsRecorded || recorded.origin !== origin) ctx.state.foresee(spec.key, { id: groupId, origin });
        const missing = missingIngress(existing, needs);
        const named = `${resource} ${groupId}`;
        if (origin === 'created' && missing.length > 0) return { action: 'update', resource: named, detail: `add ingress ${describeNeeds(missing)}` };
        const lacks = missing.length > 0 ? `lacks ingress ${describeNeeds(missing)}, left as it is` : undefined;
        return existingResource(named, sameAsRecorded, origin, lacks);
      }
      ctx.state.foreseeNew(spec.key, spec.title);
      return { action: 'create', resource, detail: `in ${vpcId}, ingress ${describeNeeds(needs)}` };
    },

    async proveOwnership(ctx, record) {
      if (!/^sg-[0-9a-f]+$/.test(record.id)) return judge(`"${record.id}" is not a security group ID`);
      let group: SecurityGroup | undefined;
      try {
        group = (await ctx.aws.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [record.id] }))).SecurityGroups?.[0];
      } catch (error) {
        if (isAwsError(error, 'InvalidGroup.NotFound')) return GONE;
        throw error;
      }
      if (!group) return GONE;
      const verdict = judge(
        nameProblem(group.GroupName, spec.name(ctx), 'group name'),
        group.OwnerId !== undefined && group.OwnerId !== ctx.state.account && `it belongs to account ${group.OwnerId}, not the stack's account ${ctx.state.account}`,
        tagProblem(hasStackTag(group.Tags, ctx.config.stack), ctx.config.stack),
      );
      return verdict.kind === 'not-ours' ? verdict : OURS;
    },

    async destroy(ctx) {
      const recorded = ctx.state.get(spec.key);
      if (!recorded) return `no ${spec.title} recorded`;
      if (recorded.origin === 'adopted') {
        ctx.state.forget(spec.key);
        return `kept security group ${recorded.id} (adopted)`;
      }
      try {
        // Fargate ENIs, and the load balancer's, hold the group for minutes after they stop.
        await retryWhile(() => ctx.aws.ec2.send(new DeleteSecurityGroupCommand({ GroupId: recorded.id })), {
          clock: ctx.clock,
          what: `security group ${recorded.id} to be released`,
          retryOn: ['DependencyViolation'],
          timeoutMs: ctx.waitTimeoutMs,
          initialDelayMs: 5_000,
          maxDelayMs: 15_000,
          onRetry: (seconds, code) => ctx.progress(`${recorded.id} still in use (${code}, network interfaces being released) after ${seconds}s, retrying`),
        });
      } catch (error) {
        if (!isAwsError(error, 'InvalidGroup.NotFound')) throw error;
      }
      ctx.state.forget(spec.key);
      return `deleted security group ${recorded.id}`;
    },

    async discover(ctx) {
      // Any VPC: the network record is not rebuilt at discovery, and the tag makes it ours anyway.
      const { SecurityGroups = [] } = await ctx.aws.ec2.send(
        new DescribeSecurityGroupsCommand({
          Filters: [
            { Name: `tag:${STACK_TAG_KEY}`, Values: [ctx.config.stack] },
            { Name: 'group-name', Values: [spec.name(ctx)] },
          ],
        }),
      );
      const own = SecurityGroups.filter((g) => g.GroupId && hasStackTag(g.Tags, ctx.config.stack));
      const [first, ...others] = own;
      if (!first) return;
      ctx.state.record(spec.key, { id: first.GroupId!, origin: 'created' });
      if (others.length > 0) {
        ctx.notice(`more security groups named ${spec.name(ctx)} carry the stack tag (${others.map((g) => g.GroupId).join(', ')}); only ${first.GroupId} will be removed`);
      }
    },
  };
}

export const albSecurityGroupStep: Step = makeStep({
  key: 'albSecurityGroup',
  title: 'load balancer security group',
  dependsOn: ['network'],
  name: (ctx) => ctx.names.albSecurityGroup,
  description: (ctx) => `ecs-ha ${ctx.config.stack}: load balancer, port ${ctx.config.listenerPort} from anywhere`,
  ingress: (ctx) => [
    { port: ctx.config.listenerPort, source: { cidrIpv4: '0.0.0.0/0' } },
    { port: ctx.config.listenerPort, source: { cidrIpv6: '::/0' } },
  ],
  ruleDescription: 'ecs-ha: clients to the load balancer',
});

export const taskSecurityGroupStep: Step = makeStep({
  key: 'taskSecurityGroup',
  title: 'task security group',
  dependsOn: ['albSecurityGroup'],
  name: (ctx) => ctx.names.taskSecurityGroup,
  description: (ctx) => `ecs-ha ${ctx.config.stack}: tasks, port ${ctx.config.appPort} from the load balancer only`,
  // Only the load balancer reaches the tasks; no CIDR, so the app is never exposed directly.
  ingress: (ctx) => [{ port: ctx.config.appPort, source: { groupId: ctx.state.require('albSecurityGroup').id } }],
  ruleDescription: 'ecs-ha: load balancer to the tasks',
});
