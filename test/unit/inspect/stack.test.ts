import { ECSClient, ListTasksCommand } from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { AwsClients } from '../../../src/aws/clients.js';
import { listServiceTaskArns } from '../../../src/inspect/stack.js';

const ecs = mockClient(ECSClient);

beforeEach(() => ecs.reset());

describe('listServiceTaskArns', () => {
  it('follows nextToken through every page (ListTasks gives at most 100 a page)', async () => {
    const first = Array.from({ length: 100 }, (_, i) => `arn:aws:ecs:us-east-1:123456789012:task/demo/${String(i).padStart(32, '0')}`);
    const second = Array.from({ length: 100 }, (_, i) => `arn:aws:ecs:us-east-1:123456789012:task/demo/${String(100 + i).padStart(32, '0')}`);
    ecs.on(ListTasksCommand).callsFake((input: { nextToken?: string }) => (input.nextToken === 'page-2' ? { taskArns: second } : { taskArns: first, nextToken: 'page-2' }));
    const aws = new AwsClients({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 });

    const arns = await listServiceTaskArns(aws, 'demo', 'demo');

    expect(arns).toEqual([...first, ...second]);
    expect(ecs.commandCalls(ListTasksCommand).map((c) => c.args[0].input)).toEqual([
      { cluster: 'demo', serviceName: 'demo', desiredStatus: 'RUNNING' },
      { cluster: 'demo', serviceName: 'demo', desiredStatus: 'RUNNING', nextToken: 'page-2' },
    ]);
  });
});
