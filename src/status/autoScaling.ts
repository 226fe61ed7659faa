/**
 * The service's Application Auto Scaling, read only: its scalable target (the min/max range), its
 * policies and its last scaling activity. `status` shows it; `scale` keeps N within the range.
 */
import {
  DescribeScalableTargetsCommand,
  DescribeScalingActivitiesCommand,
  DescribeScalingPoliciesCommand,
  type ScalingPolicy,
} from '@aws-sdk/client-application-auto-scaling';
import type { AwsClients } from '../aws/clients.js';
import { awsErrorMessage } from '../aws/errors.js';
import type { StackRefs } from '../inspect/stack.js';

const NAMESPACE = 'ecs';
const DIMENSION = 'ecs:service:DesiredCount';

/** Application Auto Scaling's name for the service: `service/<cluster name>/<service name>`. */
export function scalableResourceId(refs: Pick<StackRefs, 'cluster' | 'service'>): string {
  const name = (ref: string): string => ref.split('/').pop() ?? ref;
  return `service/${name(refs.cluster)}/${name(refs.service)}`;
}

/** The range autoscaling keeps the desired count in; undefined when the service has no scalable target. */
export interface ScalableRange {
  resourceId: string;
  min: number;
  max: number;
  /** Scale-out, scale-in or scheduled scaling suspended by the owner. */
  suspended: string[];
}

export async function scalableRange(aws: AwsClients, refs: Pick<StackRefs, 'cluster' | 'service'>): Promise<ScalableRange | undefined> {
  const resourceId = scalableResourceId(refs);
  const { ScalableTargets = [] } = await aws.autoScaling.send(
    new DescribeScalableTargetsCommand({ ServiceNamespace: NAMESPACE, ResourceIds: [resourceId], ScalableDimension: DIMENSION }),
  );
  const target = ScalableTargets.find((t) => t.ResourceId === resourceId && t.ScalableDimension === DIMENSION);
  if (!target) return undefined;
  const state = target.SuspendedState;
  const suspended = [
    ...(state?.DynamicScalingOutSuspended ? ['scale-out'] : []),
    ...(state?.DynamicScalingInSuspended ? ['scale-in'] : []),
    ...(state?.ScheduledScalingSuspended ? ['scheduled scaling'] : []),
  ];
  return { resourceId, min: target.MinCapacity ?? 0, max: target.MaxCapacity ?? 0, suspended };
}

export interface PolicyView {
  name: string;
  type: string;
  /** What it tracks and at which value ("ECSServiceAverageCPUUtilization 70"), for target tracking. */
  tracks?: string;
}

export interface ActivityView {
  status: string;
  description: string;
  cause?: string;
  message?: string;
  startedAt?: string;
  endedAt?: string;
}

/** What is known of the last scaling activity: it, none yet, or why it could not be read. */
export type LastActivity = ActivityView | 'none' | { unavailable: string };

export type AutoScalingView =
  | { enabled: false; resourceId: string }
  | { enabled: true; resourceId: string; min: number; max: number; suspended: string[]; policies: PolicyView[]; lastActivity: LastActivity };

function policyView(policy: ScalingPolicy): PolicyView {
  const tracking = policy.TargetTrackingScalingPolicyConfiguration;
  const metric = tracking?.PredefinedMetricSpecification?.PredefinedMetricType ?? (tracking?.CustomizedMetricSpecification ? 'a custom metric' : undefined);
  return {
    name: policy.PolicyName ?? '',
    type: policy.PolicyType ?? 'unknown',
    ...(tracking && metric ? { tracks: `${metric} ${tracking.TargetValue ?? '?'}` } : {}),
  };
}

async function scalingPolicies(aws: AwsClients, resourceId: string): Promise<PolicyView[]> {
  const policies: PolicyView[] = [];
  let NextToken: string | undefined;
  do {
    const page = await aws.autoScaling.send(
      new DescribeScalingPoliciesCommand({ ServiceNamespace: NAMESPACE, ResourceId: resourceId, ScalableDimension: DIMENSION, ...(NextToken ? { NextToken } : {}) }),
    );
    policies.push(...(page.ScalingPolicies ?? []).map(policyView));
    NextToken = page.NextToken;
  } while (NextToken);
  return policies;
}

async function lastActivity(aws: AwsClients, resourceId: string): Promise<ActivityView | 'none'> {
  const { ScalingActivities = [] } = await aws.autoScaling.send(
    new DescribeScalingActivitiesCommand({ ServiceNamespace: NAMESPACE, ResourceId: resourceId, ScalableDimension: DIMENSION, MaxResults: 1 }),
  );
  const activity = ScalingActivities[0];
  if (!activity) return 'none';
  return {
    status: activity.StatusCode ?? 'unknown',
    description: activity.Description ?? '',
    ...(activity.Cause ? { cause: activity.Cause } : {}),
    ...(activity.StatusMessage ? { message: activity.StatusMessage } : {}),
    ...(activity.StartTime ? { startedAt: activity.StartTime.toISOString() } : {}),
    ...(activity.EndTime ? { endedAt: activity.EndTime.toISOString() } : {}),
  };
}

/**
 * The whole autoscaling picture. `skipActivitiesBecause` leaves out DescribeScalingActivities, for
 * an endpoint known not to answer it (moto answers it with an HTML 500, which the SDK retries for
 * seconds); the view says why the last activity is missing. A failed activity read alone is shown
 * the same way: the range and policies are what `status` and `scale` need.
 */
export async function readAutoScaling(aws: AwsClients, refs: Pick<StackRefs, 'cluster' | 'service'>, options: { skipActivitiesBecause?: string } = {}): Promise<AutoScalingView> {
  const range = await scalableRange(aws, refs);
  if (!range) return { enabled: false, resourceId: scalableResourceId(refs) };
  const activity: Promise<LastActivity> = options.skipActivitiesBecause
    ? Promise.resolve({ unavailable: options.skipActivitiesBecause })
    : lastActivity(aws, range.resourceId).catch((error: unknown) => ({ unavailable: awsErrorMessage(error) }));
  const [policies, last] = await Promise.all([scalingPolicies(aws, range.resourceId), activity]);
  return { enabled: true, ...range, policies, lastActivity: last };
}
