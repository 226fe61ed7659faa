/**
 * The checks made through the URL, against real HTTP servers on 127.0.0.1 that answer `/` and
 * `/health` as the app does; waits run on a fake clock.
 */
import type { Service } from '@aws-sdk/client-ecs';
import { createServer } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { Clock } from '../../../src/clock.js';
import type { StackRefs } from '../../../src/inspect/stack.js';
import type { Observations } from '../../../src/verify/observations.js';
import { observeUrl, urlAcrossAzs, urlAcrossTasks, urlAnswers, type UrlCheckContext, type UrlObservation } from '../../../src/verify/url.js';
import { freePort, listen, type Listening } from '../../fixtures/probe/servers.js';
import { fakeClock } from '../../helpers/context.js';

interface Backend {
  hostname: string;
  az?: string;
  /** Answers 502, as an ALB does when its target failed. */
  broken?: boolean;
}
const A: Backend = { hostname: 'ip-10-0-1-10', az: 'us-east-1a' };
const B: Backend = { hostname: 'ip-10-0-2-20', az: 'us-east-1b' };

const servers: Listening[] = [];
afterEach(async () => {
  while (servers.length) await servers.pop()!.closeHard();
});

/** A stand-in for the load balancer, taking turns over `backends` (the first request goes to the first). */
async function fakeAlb(backends: Backend[], port = 0): Promise<string> {
  let served = 0;
  const server = createServer((req, res) => {
    const backend = backends[served++ % backends.length]!;
    if (backend.broken) res.writeHead(502).end('<html>502 Bad Gateway</html>');
    else if (req.url === '/health') res.end(JSON.stringify({ status: 'healthy', hostname: backend.hostname, version: '1.0', az: backend.az ?? null }));
    else res.end(`Hello from ${backend.hostname} - Version 1.0`);
  });
  const listening = await listen(server, port);
  servers.push(listening);
  return `http://127.0.0.1:${listening.port}`;
}

/** The URL checks need only the service's desired count from AWS. */
function context(baseUrl: string, options: { clock?: Clock; timeoutMs?: number; desiredCount?: number } = {}): UrlCheckContext {
  let observation: Promise<UrlObservation> | undefined;
  const service: Service = { serviceName: 'demo', desiredCount: options.desiredCount ?? 2 };
  return {
    refs: { url: baseUrl } as StackRefs,
    observed: { service: async () => service } as unknown as Observations,
    url: () => (observation ??= observeUrl(baseUrl, { requests: 20, waitTimeoutMs: options.timeoutMs ?? 120_000, clock: options.clock ?? fakeClock() })),
  };
}

async function urlChecks(ctx: UrlCheckContext) {
  const [answers, tasks, azs] = await Promise.all([urlAnswers(ctx), urlAcrossTasks(ctx), urlAcrossAzs(ctx)]);
  return { answers, tasks, azs };
}

describe('the URL checks', () => {
  it('fail the spread checks when only one task answers', async () => {
    const { answers, tasks, azs } = await urlChecks(context(await fakeAlb([A])));

    expect(answers).toMatchObject({ status: 'OK', evidence: '/ 20/20 greeting Version 1.0; /health 20/20 healthy' });
    expect(tasks).toMatchObject({ status: 'FAIL', evidence: '1 task answered 40/40 requests: ip-10-0-1-10 (40)' });
    expect(azs).toMatchObject({ status: 'FAIL', evidence: '1 AZ answered 20/20 /health requests: us-east-1a (20)' });
  });

  it('fail url answers with a count of each bad answer when some requests get 502', async () => {
    // The reachability request takes the first turn (A), so `/` and `/health` each get 10 of each.
    const { answers, tasks } = await urlChecks(context(await fakeAlb([A, { hostname: 'gone', broken: true }])));

    expect(answers).toMatchObject({ status: 'FAIL', evidence: '/ 10/20 greeting Version 1.0, other: 10× HTTP 502; /health 10/20 healthy, other: 10× HTTP 502' });
    expect(tasks).toMatchObject({ status: 'FAIL', evidence: '1 task answered 20/40 requests: ip-10-0-1-10 (20)' });
  });

  it('skip the AZ spread, saying why, when the app reports no AZ, and still check the tasks', async () => {
    const { tasks, azs } = await urlChecks(context(await fakeAlb([{ hostname: 'h1' }, { hostname: 'h2' }])));

    expect(tasks).toMatchObject({ status: 'OK', evidence: '2 tasks answered 40/40 requests: h1 (20), h2 (20)' });
    expect(azs).toEqual({
      status: 'SKIP',
      evidence: 'the app reported no AZ in 20 /health answers (no ECS task metadata), so the AZ spread was not seen through the URL',
    });
  });

  it('skip the spread checks for a service of one task and send no request for them', async () => {
    const { tasks, azs } = await urlChecks(context(await fakeAlb([A]), { desiredCount: 1 }));

    expect(tasks).toEqual({ status: 'SKIP', evidence: 'desired count is 1: one task cannot answer as two' });
    expect(azs).toEqual({ status: 'SKIP', evidence: 'desired count is 1: one task cannot answer as two' });
  });
});

describe('observeUrl while the load balancer is not reachable yet', () => {
  it('retries while connections are refused and samples once it answers', async () => {
    const port = await freePort();
    const base = fakeClock();
    // The "load balancer" starts accepting connections during the second wait.
    const clock: Clock = {
      now: base.now,
      sleep: async (ms) => {
        await base.sleep(ms);
        if (base.slept.length === 2) await fakeAlb([A, B], port);
      },
    };
    const ctx = context(`http://127.0.0.1:${port}`, { clock });
    const { answers, tasks, azs } = await urlChecks(ctx);

    expect(base.slept).toEqual([5000, 5000]);
    const observed = await ctx.url();
    expect({ reachable: observed.reachable, waitedMs: observed.waitedMs, attempts: observed.attempts }).toEqual({ reachable: true, waitedMs: 10_000, attempts: 3 });
    expect(answers).toMatchObject({ status: 'OK', evidence: '/ 20/20 greeting Version 1.0; /health 20/20 healthy; reachable after 10 s' });
    expect(tasks.status).toBe('OK');
    expect(azs).toMatchObject({ status: 'OK', evidence: '2 AZs answered 20/20 /health requests: us-east-1a (10), us-east-1b (10)' });
  });

  it('gives up after the timeout and fails every URL check with what it saw', async () => {
    const port = await freePort();
    const clock = fakeClock();
    const { answers, tasks, azs } = await urlChecks(context(`http://127.0.0.1:${port}`, { clock, timeoutMs: 30_000 }));

    expect(clock.slept).toEqual([5000, 5000, 5000, 5000, 5000, 5000]);
    const evidence = `http://127.0.0.1:${port} not reachable after 30 s and 7 attempts: refused (connect ECONNREFUSED 127.0.0.1:${port})`;
    expect(answers).toEqual({ status: 'FAIL', evidence });
    expect(tasks).toEqual({ status: 'FAIL', evidence });
    expect(azs).toEqual({ status: 'FAIL', evidence });
  });
});
