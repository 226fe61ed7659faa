import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AwsClients } from '../../../src/aws/clients.js';
import { explainStepError } from '../../../src/engine/run.js';
import { clusterStep } from '../../../src/steps/cluster.js';
import { REGION, testContext } from '../../helpers/context.js';

/**
 * A stand-in for the ECS endpoint speaking its JSON protocol, so the real SDK client, with its
 * retry middleware and ecs-ha's trace middleware, is exercised (aws-sdk-client-mock would bypass both).
 */
function fakeEcs(answer: (operation: string, hit: number) => { status: number; body: unknown }): Promise<{ url: string; hits: string[]; server: Server }> {
  const hits: string[] = [];
  const server = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      const operation = String(request.headers['x-amz-target'] ?? '').split('.').pop() ?? '';
      hits.push(operation);
      const { status, body } = answer(operation, hits.length);
      response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
      response.end(JSON.stringify(body));
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits, server })));
}

let server: Server | undefined;
afterEach(() => server?.close());

function contextAt(url: string) {
  const ctx = testContext();
  return { ...ctx, aws: new AwsClients({ region: REGION, endpointUrl: url, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }) };
}

describe('AWS calls through the clients factory', () => {
  it('retries a throttled call and the step succeeds, traced as one call', async () => {
    const fake = await fakeEcs((operation, hit) => {
      if (hit <= 2) return { status: 400, body: { __type: 'ThrottlingException', message: 'Rate exceeded' } };
      if (operation === 'DescribeClusters') return { status: 200, body: { clusters: [], failures: [] } };
      return { status: 200, body: { cluster: { clusterArn: 'arn:aws:ecs:us-east-1:123456789012:cluster/demo', status: 'ACTIVE' } } };
    });
    server = fake.server;
    const ctx = contextAt(fake.url);

    expect(await clusterStep.ensure(ctx)).toBe('created cluster demo');

    expect(fake.hits).toEqual(['DescribeClusters', 'DescribeClusters', 'DescribeClusters', 'CreateCluster']);
    expect(ctx.aws.calls.map((c) => [c.operation, c.status, c.error])).toEqual([
      ['DescribeClusters', 200, undefined],
      ['CreateCluster', 200, undefined],
    ]);
  });

  it('stops at once on a permanent error and names the step, the call and AWS message', async () => {
    const fake = await fakeEcs(() => ({ status: 400, body: { __type: 'AccessDeniedException', message: 'User: arn:aws:iam::123456789012:user/dev is not authorized to perform: ecs:DescribeClusters' } }));
    server = fake.server;
    const ctx = contextAt(fake.url);

    const error = await clusterStep.ensure(ctx).catch((e: unknown) => e);

    expect(fake.hits).toEqual(['DescribeClusters']);
    const explained = explainStepError(clusterStep, error);
    expect(explained.message).toBe(
      'ECS cluster: ECS:DescribeClusters failed: AccessDeniedException: User: arn:aws:iam::123456789012:user/dev is not authorized to perform: ecs:DescribeClusters',
    );
    expect(explained.hint).toContain('lack permission');
    expect(explained.exitCode).toBe(1);
    expect(ctx.aws.calls[0]).toMatchObject({ operation: 'DescribeClusters', status: 400, error: 'AccessDeniedException' });
  });

  it('never writes credentials into the trace', async () => {
    const fake = await fakeEcs(() => ({ status: 200, body: { clusters: [{ clusterArn: 'arn:c', status: 'ACTIVE', tags: [] }] } }));
    server = fake.server;
    const ctx = testContext();
    const aws = new AwsClients({ region: REGION, endpointUrl: fake.url, credentials: { accessKeyId: 'AKIASECRETKEYID', secretAccessKey: 'very-secret-value' } });
    await clusterStep.ensure({ ...ctx, aws });
    expect(JSON.stringify(aws.calls)).not.toMatch(/AKIASECRETKEYID|very-secret-value/);
  });
});
