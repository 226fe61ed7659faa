/**
 * Shared shapes of the local data plane (design §7): the scheduler, the load balancer and the
 * task runtime exchange these. Times are epoch milliseconds from the plane's clock.
 */

/** How the plane waits: real time scaled by a factor (ECS_HA_LOCAL_TIME_SCALE; 1 = real seconds). */
export interface PlaneClock {
  now(): number;
  /** A duration the AWS side would take, in real milliseconds after scaling: `scaled(10_000)` is 1 s at scale 0.1. */
  scaled(ms: number): number;
}

export function planeClock(scale: number): PlaneClock {
  return { now: () => Date.now(), scaled: (ms) => Math.max(1, Math.round(ms * scale)) };
}

/** A target group's health check and deregistration settings, as DescribeTargetGroups / attributes report them. */
export interface TargetGroupSettings {
  arn: string;
  name: string;
  healthCheckPath: string;
  healthCheckIntervalSeconds: number;
  healthCheckTimeoutSeconds: number;
  healthyThresholdCount: number;
  unhealthyThresholdCount: number;
  /** The matcher's HttpCode: "200", "200,302", "200-299". */
  matcher: string;
  deregistrationDelaySeconds: number;
}

/** Target states and reason codes exactly as DescribeTargetHealth reports them. */
export type TargetState = 'initial' | 'healthy' | 'unhealthy' | 'draining' | 'unused' | 'unavailable';

export interface TargetHealthView {
  id: string;
  port: number;
  /** Set on a target registered in an AZ (ip targets in the VPC): the AZ of its subnet. */
  availabilityZone?: string;
  state: TargetState;
  reason?: string;
  description?: string;
}
