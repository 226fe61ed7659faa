/**
 * What the stack costs per hour while it is up, from a price table kept in the code. The prices
 * are us-east-1 on-demand list prices as the README's cost table gives them (written 2026-11 from
 * AWS's public pricing pages for Fargate, Elastic Load Balancing, VPC public IPv4 and Route 53);
 * they were not re-checked against AWS's price list API, which this project's machines cannot reach.
 */
import type { Architecture } from '../config.js';

export const PRICE_TABLE = {
  region: 'us-east-1',
  takenOn: '2026-11',
  albPerHour: 0.0225,
  /** Per Fargate task: vCPU-hour and GB-hour, by CPU architecture. */
  fargateVcpuPerHour: { x86_64: 0.04048, arm64: 0.03238 } satisfies Record<Architecture, number>,
  fargateGbPerHour: { x86_64: 0.004445, arm64: 0.00356 } satisfies Record<Architecture, number>,
  /** One per task (assignPublicIp) and one per load balancer node (one node per AZ). */
  publicIpv4PerHour: 0.005,
  /** The Cloud Map namespace is a Route 53 private hosted zone. */
  hostedZonePerMonth: 0.5,
} as const;

const HOURS_PER_MONTH = 730;

export interface CostEstimate {
  perHour: number;
  perMonth: number;
  items: Array<{ item: string; perHour: number }>;
  /** What the number leaves out and where it comes from, in one sentence. */
  basis: string;
}

export function estimateCost(stack: { count: number; cpu: number; memory: number; arch: Architecture; zones: number; region: string }): CostEstimate {
  const p = PRICE_TABLE;
  const task = (stack.cpu / 1024) * p.fargateVcpuPerHour[stack.arch] + (stack.memory / 1024) * p.fargateGbPerHour[stack.arch];
  const items = [
    { item: `Fargate, ${stack.count} × (${stack.cpu / 1024} vCPU, ${stack.memory / 1024} GB)`, perHour: stack.count * task },
    { item: 'Application Load Balancer (hourly part)', perHour: p.albPerHour },
    { item: `public IPv4 addresses (${stack.count} tasks + ${stack.zones} load balancer nodes)`, perHour: (stack.count + stack.zones) * p.publicIpv4PerHour },
    { item: 'Cloud Map namespace (Route 53 private zone)', perHour: p.hostedZonePerMonth / HOURS_PER_MONTH },
  ];
  const perHour = items.reduce((sum, i) => sum + i.perHour, 0);
  const where = stack.region === p.region ? p.region : `${p.region} (prices in ${stack.region} may differ)`;
  return {
    perHour,
    perMonth: perHour * HOURS_PER_MONTH,
    items,
    basis: `estimate at ${where} on-demand prices of ${p.takenOn}; plus load balancer capacity units, data transfer, logs and ECR storage`,
  };
}

export function formatUsd(amount: number): string {
  return amount < 1 ? `$${amount.toFixed(3)}` : `$${amount.toFixed(2)}`;
}
