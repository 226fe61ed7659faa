/**
 * What the stack costs per hour while it is up, from a price table kept in the code. The prices
 * are us-east-1 on-demand list prices, taken 2026-11 from AWS's public pricing pages for Fargate,
 * Elastic Load Balancing, VPC public IPv4, Route 53, Cloud Map, ECR and CloudWatch Logs; they were
 * not re-checked against AWS's price list API, which this project's machines cannot reach. The
 * README's cost table is rendered from this table (`costTableMarkdown`), and a test keeps it so.
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
  /** Priced by use, so not in the estimate: shown beside it. */
  byUse: [
    { item: 'Load balancer capacity units (LCU)', price: '$0.008 per LCU-hour' },
    { item: 'Cloud Map instances', price: '$0.10 per registered instance-month' },
    { item: 'ECR storage', price: '$0.10 per GB-month (the image is tens of MB)' },
    { item: 'CloudWatch Logs', price: '$0.50 per GB ingested, $0.03 per GB-month stored' },
    { item: 'Data transfer out to the internet', price: 'per GB, after the free tier' },
  ],
  /** What the stack makes that AWS does not bill. */
  free: 'ECS cluster, IAM role, security groups, target group, listener, task definition',
} as const;

const HOURS_PER_MONTH = 730;

export interface CostEstimate {
  perHour: number;
  perMonth: number;
  /** What the estimate adds up, each with its unit price. */
  items: Array<{ item: string; price: string; perHour: number }>;
  /** What the number leaves out and where it comes from, in one sentence. */
  basis: string;
}

export function estimateCost(stack: { count: number; cpu: number; memory: number; arch: Architecture; zones: number; region: string }): CostEstimate {
  const p = PRICE_TABLE;
  const task = (stack.cpu / 1024) * p.fargateVcpuPerHour[stack.arch] + (stack.memory / 1024) * p.fargateGbPerHour[stack.arch];
  const items = [
    {
      item: `Fargate, ${stack.count} × (${stack.cpu / 1024} vCPU, ${stack.memory / 1024} GB)`,
      price: `$${p.fargateVcpuPerHour[stack.arch]} per vCPU-hour + $${p.fargateGbPerHour[stack.arch]} per GB-hour (${stack.arch === 'arm64' ? 'ARM' : 'x86'})`,
      perHour: stack.count * task,
    },
    { item: 'Application Load Balancer (hourly part)', price: `$${p.albPerHour} per hour`, perHour: p.albPerHour },
    {
      item: `public IPv4 addresses (${stack.count} tasks + ${stack.zones} load balancer nodes)`,
      price: `$${p.publicIpv4PerHour} per address-hour`,
      perHour: (stack.count + stack.zones) * p.publicIpv4PerHour,
    },
    { item: 'Cloud Map namespace (Route 53 private zone)', price: `$${p.hostedZonePerMonth.toFixed(2)} per month`, perHour: p.hostedZonePerMonth / HOURS_PER_MONTH },
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

/** The stack the README prices: `up`'s defaults, in as many zones as `up` takes in us-east-1's default VPC. */
export interface PricedStack {
  count: number;
  cpu: number;
  memory: number;
  arch: Architecture;
  zones: number;
}

/**
 * The README's cost table, rendered from PRICE_TABLE through `estimateCost` (the numbers `plan`,
 * `up` and `status` print). Markdown, between the markers the README test looks for.
 */
export function costTableMarkdown(stack: PricedStack): string {
  const p = PRICE_TABLE;
  const estimate = estimateCost({ ...stack, region: p.region });
  // Four decimals: the hourly items are fractions of a cent apart.
  const perHour = (amount: number): string => `$${amount.toFixed(4)}/h`;
  return [
    COST_TABLE_BEGIN,
    `An **estimate** at ${p.region} on-demand list prices taken ${p.takenOn} from AWS's public pricing pages (kept in`,
    '`src/cost/estimate.ts`; `ecs-ha plan`, `up` and `status` print the same estimate for your options), for the',
    `defaults: ${stack.count} tasks of ${stack.cpu / 1024} vCPU / ${stack.memory / 1024} GB, ${stack.arch === 'arm64' ? 'ARM' : 'x86'}, in ${stack.zones} Availability Zones. Prices differ by region`,
    'and change: check the AWS pricing pages for your region.',
    '',
    `| Item | Price (${p.region}, ${p.takenOn}) | While up |`,
    '|---|---|---|',
    ...estimate.items.map(({ item, price, perHour: amount }) => `| ${capitalized(item)} | ${price} | ${perHour(amount)} |`),
    `| **Total (estimate)** | | **${perHour(estimate.perHour)}, ${formatUsd(estimate.perMonth)}/month** |`,
    ...p.byUse.map(({ item, price }) => `| ${item} | ${price} | not in the estimate: by use |`),
    `| ${p.free} | free | – |`,
    '',
    '`ecs-ha down` removes every billed resource in the table.',
    COST_TABLE_END,
  ].join('\n');
}

export const COST_TABLE_BEGIN = '<!-- cost table: generated from src/cost/estimate.ts (test/unit/cost/readmeCostTable.test.ts checks it); do not edit by hand -->';
export const COST_TABLE_END = '<!-- end of the generated cost table -->';

function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
