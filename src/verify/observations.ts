/**
 * What `verify` reads from AWS, each read made at most once and shared by the checks that need it
 * (the tasks feed the AZ, target and Cloud Map checks), so a run makes one call per fact.
 */
import { DescribeClustersCommand, type Cluster, type Service } from '@aws-sdk/client-ecs';
import { DescribeListenersCommand, type Listener } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { AwsClients } from '../aws/clients.js';
import {
  cloudMapHealth,
  cloudMapInstances,
  describeService,
  serviceTasks,
  targetHealth,
  type InstanceView,
  type StackRefs,
  type TargetView,
  type TaskView,
} from '../inspect/stack.js';

export interface Observations {
  /** Undefined when DescribeClusters does not know the cluster. */
  cluster(): Promise<Cluster | undefined>;
  /** Undefined when DescribeServices does not know the service. */
  service(): Promise<Service | undefined>;
  /** The tasks ECS wants running (any lastStatus). */
  tasks(): Promise<TaskView[]>;
  targets(): Promise<TargetView[]>;
  /** The listeners the state names (or, without one recorded, every listener of the load balancer). */
  listeners(): Promise<Listener[]>;
  cloudMapInstances(): Promise<InstanceView[]>;
  cloudMapHealth(): Promise<Record<string, string>>;
}

/** Memoizes a read; a failed read fails every check that needs it, with the same error. */
function once<T>(read: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => (pending ??= read());
}

export function observe(aws: AwsClients, refs: StackRefs): Observations {
  return {
    cluster: once(async () => {
      const { clusters = [] } = await aws.ecs.send(new DescribeClustersCommand({ clusters: [refs.cluster] }));
      return clusters.find((c) => c.clusterName === refs.cluster || c.clusterArn === refs.cluster);
    }),
    service: once(() => describeService(aws, refs)),
    tasks: once(() => serviceTasks(aws, refs)),
    targets: once(() => targetHealth(aws, refs)),
    listeners: once(async () => {
      const input = refs.listenerArn ? { ListenerArns: [refs.listenerArn] } : { LoadBalancerArn: refs.loadBalancerArn };
      const { Listeners = [] } = await aws.elbv2.send(new DescribeListenersCommand(input));
      return Listeners;
    }),
    cloudMapInstances: once(() => cloudMapInstances(aws, refs)),
    cloudMapHealth: once(() => cloudMapHealth(aws, refs)),
  };
}

/** The tasks whose containers run now (lastStatus RUNNING); PROVISIONING/PENDING/DEACTIVATING ones are not serving. */
export function runningTasks(tasks: TaskView[]): TaskView[] {
  return tasks.filter((t) => t.lastStatus === 'RUNNING');
}
