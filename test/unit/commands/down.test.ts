import { DeleteClusterCommand, DescribeClustersCommand, ECSClient } from '@aws-sdk/client-ecs';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { AwsClients } from '../../../src/aws/clients.js';
import { runDown } from '../../../src/commands/down.js';
import type { Session } from '../../../src/session.js';
import { ExitCode } from '../../../src/errors.js';
import { StateStore } from '../../../src/state/store.js';
import { createReporter } from '../../../src/ui/reporter.js';
import { ACCOUNT, fakeClock, REGION, scriptedRunner } from '../../helpers/context.js';

const ecs = mockClient(ECSClient);
const sts = mockClient(STSClient);

function session(): Session {
  const sink = { write: () => true } as unknown as NodeJS.WritableStream;
  return {
    stack: 'demo',
    stateDir: mkdtempSync(join(tmpdir(), 'ecs-ha-down-')),
    local: false,
    json: true,
    aws: new AwsClients({ region: REGION, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 }),
    reporter: createReporter({ json: true, interactive: false, stdout: sink, stderr: sink }),
    clock: fakeClock(),
    runner: scriptedRunner(),
    signal: new AbortController().signal,
  };
}

beforeEach(() => {
  ecs.reset();
  sts.reset();
  sts.on(GetCallerIdentityCommand).resolves({ Account: ACCOUNT });
  ecs.on(DeleteClusterCommand).resolves({});
  ecs.on(DescribeClustersCommand).resolves({ clusters: [{ clusterName: 'demo', clusterArn: CLUSTER_ARN, status: 'ACTIVE', tags: [{ key: 'ecs-ha:stack', value: 'demo' }] }] });
});

const CLUSTER_ARN = `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/demo`;

describe('down', () => {
  it('deletes nothing when the user answers no, and keeps the state file', async () => {
    const s = session();
    StateStore.open(s.stateDir, 'demo', ACCOUNT, REGION).record('cluster', { id: 'demo', arn: CLUSTER_ARN, origin: 'created' });
    const ask = vi.fn(async () => false);

    const error = await runDown(s, { yes: false, timeoutMs: 1000, ask }).catch((e: unknown) => e);

    expect(ask).toHaveBeenCalledWith(expect.stringContaining('Delete 1 resources of stack "demo" in account 123456789012'));
    expect(error).toMatchObject({ exitCode: ExitCode.failed, message: expect.stringContaining('cancelled') });
    expect(ecs.commandCalls(DeleteClusterCommand)).toHaveLength(0);
    expect(existsSync(join(s.stateDir, 'demo.json'))).toBe(true);
  });

  it('with --yes deletes without asking, removes the state file, and lists what it removed and kept', async () => {
    const s = session();
    const state = StateStore.open(s.stateDir, 'demo', ACCOUNT, REGION);
    state.record('cluster', { id: 'demo', arn: CLUSTER_ARN, origin: 'created' });
    state.record('network', { id: 'vpc-1', origin: 'adopted', details: { subnetIds: [], availabilityZones: [] } });
    const ask = vi.fn(async () => true);

    const result = await runDown(s, { yes: true, timeoutMs: 1000, ask });

    expect(ask).not.toHaveBeenCalled();
    expect(ecs.commandCalls(DeleteClusterCommand)[0]!.args[0].input).toEqual({ cluster: 'demo' });
    expect(result.deleted).toEqual(['cluster demo']);
    expect(result.skipped).toEqual([]);
    expect(result.kept).toEqual(['network vpc-1']);
    expect(existsSync(join(s.stateDir, 'demo.json'))).toBe(false);
    expect(existsSync(join(s.stateDir, 'demo.lock'))).toBe(false);
  });

  it('keeps the state file when a deletion fails, so the next run can finish', async () => {
    const s = session();
    StateStore.open(s.stateDir, 'demo', ACCOUNT, REGION).record('cluster', { id: 'demo', arn: CLUSTER_ARN, origin: 'created' });
    ecs.on(DeleteClusterCommand).rejects(Object.assign(new Error('no'), { name: 'AccessDeniedException' }));

    await expect(runDown(s, { yes: true, timeoutMs: 1000, ask: async () => true })).rejects.toThrow(/ECS cluster: .*AccessDeniedException/);
    expect(StateStore.open(s.stateDir, 'demo', ACCOUNT, REGION).get('cluster')).toBeDefined();
    expect(existsSync(join(s.stateDir, 'demo.lock'))).toBe(false);
  });
});
