import { describe, expect, it } from 'vitest';
import { estimateCost, formatUsd, PRICE_TABLE } from '../../../src/cost/estimate.js';

describe('estimateCost', () => {
  it('adds Fargate, the load balancer, public IPv4 addresses and the hosted zone for the defaults', () => {
    const cost = estimateCost({ count: 2, cpu: 256, memory: 512, arch: 'x86_64', zones: 3, region: 'us-east-1' });
    // 2 × (0.25 × 0.04048 + 0.5 × 0.004445) + 0.0225 + 5 × 0.005 + 0.5 / 730
    expect(cost.perHour).toBeCloseTo(0.024685 + 0.0225 + 0.025 + 0.000685, 5);
    expect(cost.perMonth).toBeCloseTo(cost.perHour * 730, 5);
    expect(cost.basis).toBe(`estimate at us-east-1 on-demand prices of ${PRICE_TABLE.takenOn}; plus load balancer capacity units, data transfer, logs and ECR storage`);
  });

  it('scales with the tasks and says when the region is not the one of the price table', () => {
    const small = estimateCost({ count: 2, cpu: 256, memory: 512, arch: 'arm64', zones: 2, region: 'eu-west-1' });
    const big = estimateCost({ count: 4, cpu: 1024, memory: 2048, arch: 'arm64', zones: 2, region: 'eu-west-1' });
    expect(big.perHour).toBeGreaterThan(small.perHour);
    expect(small.basis).toContain('us-east-1 (prices in eu-west-1 may differ)');
    expect(formatUsd(0.0729)).toBe('$0.073');
    expect(formatUsd(53.2)).toBe('$53.20');
  });
});
