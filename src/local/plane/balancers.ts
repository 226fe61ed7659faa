/**
 * The plane's load balancers and target groups, kept in step with moto: one local reverse proxy per
 * load balancer (its DNS name is answered as `127.0.0.1:<port>`) and one health-checking target
 * group per target group moto has.
 */
import { LocalLoadBalancer, LocalTargetGroup } from './loadBalancer.js';
import type { PlaneClock, TargetGroupSettings, TargetHealthView, TargetState } from './types.js';
import type { LoadBalancerView } from './world.js';

export class Balancers {
  private readonly groups = new Map<string, LocalTargetGroup>();
  private readonly proxies = new Map<string, { proxy: LocalLoadBalancer; port: Promise<number>; since: number }>();

  constructor(
    private readonly clock: PlaneClock,
    private readonly onTargetChange: (groupArn: string, target: TargetHealthView, previous: TargetState | undefined) => void,
  ) {}

  /** The local port that answers for a load balancer's DNS name; the proxy starts listening at first sight. */
  portFor(dnsName: string): Promise<number> {
    let entry = this.proxies.get(dnsName);
    if (!entry) {
      const proxy = new LocalLoadBalancer({ clock: this.clock });
      entry = { proxy, port: proxy.listen(), since: this.clock.now() };
      this.proxies.set(dnsName, entry);
    }
    return entry.port;
  }

  group(arn: string): LocalTargetGroup | undefined {
    return this.groups.get(arn);
  }

  syncTargetGroups(settings: TargetGroupSettings[]): void {
    const seen = new Set<string>();
    for (const wanted of settings) {
      seen.add(wanted.arn);
      const group = this.groups.get(wanted.arn);
      if (group) group.updateSettings(wanted);
      else this.groups.set(wanted.arn, new LocalTargetGroup(wanted, this.clock, { onChange: (target, previous) => this.onTargetChange(wanted.arn, target, previous) }));
    }
    for (const [arn, group] of this.groups) {
      if (!seen.has(arn)) {
        group.close();
        this.groups.delete(arn);
      }
    }
  }

  /**
   * Points each proxy at its listener's target group; closes the proxies of deleted load balancers.
   * `readAt` is when `views` was read: a proxy started after that belongs to a load balancer just made.
   */
  async syncLoadBalancers(views: LoadBalancerView[], readAt: number): Promise<void> {
    const seen = new Set<string>();
    for (const view of views) {
      seen.add(view.dnsName);
      await this.portFor(view.dnsName);
      this.proxies.get(view.dnsName)!.proxy.forwardTo(view.targetGroupArn ? this.groups.get(view.targetGroupArn) : undefined);
    }
    for (const [dnsName, { proxy, since }] of this.proxies) {
      if (!seen.has(dnsName) && since < readAt) {
        this.proxies.delete(dnsName);
        await proxy.close();
      }
    }
  }

  async close(): Promise<void> {
    for (const group of this.groups.values()) group.close();
    await Promise.all([...this.proxies.values()].map(({ proxy }) => proxy.close()));
  }
}
