/**
 * The local data plane's read of moto, the one source of truth for configuration: services, task
 * definitions, subnets and their AZs, target groups, load balancers and listeners. Task definitions
 * and subnets never change under one ARN/ID, so they are read once.
 */
import { DescribeServicesCommand, DescribeTaskDefinitionCommand, ListClustersCommand, ListServicesCommand, type Service, type TaskDefinition } from '@aws-sdk/client-ecs';
import { DescribeSubnetsCommand } from '@aws-sdk/client-ec2';
import {
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { AwsClients } from '../../aws/clients.js';
import type { TargetGroupSettings } from './types.js';

export interface ServiceView {
  clusterArn: string;
  clusterName: string;
  service: Service;
}

export interface LoadBalancerView {
  arn: string;
  dnsName: string;
  /** The target group of the first forwarding listener, if there is a listener yet. */
  targetGroupArn?: string;
}

export class MotoWorld {
  private readonly taskDefinitions = new Map<string, TaskDefinition>();
  private readonly subnetZones = new Map<string, string>();

  constructor(private readonly aws: AwsClients) {}

  /** Every service of every cluster, in any status moto still reports. */
  async services(): Promise<ServiceView[]> {
    const views: ServiceView[] = [];
    const { clusterArns = [] } = await this.aws.ecs.send(new ListClustersCommand({}));
    for (const clusterArn of clusterArns) {
      const clusterName = clusterArn.split('/').pop() ?? clusterArn;
      const { serviceArns = [] } = await this.aws.ecs.send(new ListServicesCommand({ cluster: clusterArn }));
      for (let i = 0; i < serviceArns.length; i += 10) {
        const { services = [] } = await this.aws.ecs.send(new DescribeServicesCommand({ cluster: clusterArn, services: serviceArns.slice(i, i + 10) }));
        for (const service of services) views.push({ clusterArn, clusterName, service });
      }
    }
    return views;
  }

  async taskDefinition(arn: string): Promise<TaskDefinition> {
    let definition = this.taskDefinitions.get(arn);
    if (!definition) {
      const { taskDefinition } = await this.aws.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn }));
      if (!taskDefinition) throw new Error(`task definition ${arn} not found`);
      definition = taskDefinition;
      this.taskDefinitions.set(arn, definition);
    }
    return definition;
  }

  /** subnet ID → AZ name, for the subnets asked. */
  async zonesOf(subnetIds: string[]): Promise<Map<string, string>> {
    const missing = subnetIds.filter((id) => !this.subnetZones.has(id));
    if (missing.length > 0) {
      const { Subnets = [] } = await this.aws.ec2.send(new DescribeSubnetsCommand({ SubnetIds: missing }));
      for (const subnet of Subnets) if (subnet.SubnetId && subnet.AvailabilityZone) this.subnetZones.set(subnet.SubnetId, subnet.AvailabilityZone);
    }
    return new Map(subnetIds.filter((id) => this.subnetZones.has(id)).map((id) => [id, this.subnetZones.get(id)!]));
  }

  /** The target groups' settings now; a group moto no longer has is left out. */
  async targetGroups(arns: string[]): Promise<TargetGroupSettings[]> {
    if (arns.length === 0) return [];
    const settings: TargetGroupSettings[] = [];
    let groups;
    try {
      ({ TargetGroups: groups = [] } = await this.aws.elbv2.send(new DescribeTargetGroupsCommand({ TargetGroupArns: arns })));
    } catch {
      // One unknown ARN fails the whole call: ask one by one.
      groups = [];
      for (const arn of arns) {
        try {
          groups.push(...((await this.aws.elbv2.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [arn] }))).TargetGroups ?? []));
        } catch {
          // gone
        }
      }
    }
    for (const group of groups) {
      const { Attributes = [] } = await this.aws.elbv2.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: group.TargetGroupArn }));
      const delay = Attributes.find((a) => a.Key === 'deregistration_delay.timeout_seconds')?.Value;
      settings.push({
        arn: group.TargetGroupArn!,
        name: group.TargetGroupName ?? '',
        healthCheckPath: group.HealthCheckPath ?? '/',
        healthCheckIntervalSeconds: group.HealthCheckIntervalSeconds ?? 30,
        healthCheckTimeoutSeconds: group.HealthCheckTimeoutSeconds ?? 5,
        healthyThresholdCount: group.HealthyThresholdCount ?? 5,
        unhealthyThresholdCount: group.UnhealthyThresholdCount ?? 2,
        matcher: group.Matcher?.HttpCode ?? '200',
        deregistrationDelaySeconds: delay === undefined ? 300 : Number(delay),
      });
    }
    return settings;
  }

  async loadBalancers(): Promise<LoadBalancerView[]> {
    const { LoadBalancers = [] } = await this.aws.elbv2.send(new DescribeLoadBalancersCommand({}));
    const views: LoadBalancerView[] = [];
    for (const lb of LoadBalancers) {
      if (!lb.LoadBalancerArn || !lb.DNSName) continue;
      const { Listeners = [] } = await this.aws.elbv2.send(new DescribeListenersCommand({ LoadBalancerArn: lb.LoadBalancerArn }));
      const forward = Listeners.flatMap((l) => l.DefaultActions ?? []).find((a) => a.Type === 'forward');
      const targetGroupArn = forward?.TargetGroupArn ?? forward?.ForwardConfig?.TargetGroups?.[0]?.TargetGroupArn;
      views.push({ arn: lb.LoadBalancerArn, dnsName: lb.DNSName, ...(targetGroupArn ? { targetGroupArn } : {}) });
    }
    return views;
  }
}
