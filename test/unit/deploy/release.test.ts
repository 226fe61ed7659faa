import { DescribeTaskDefinitionCommand, ECSClient, ListTaskDefinitionsCommand, type TaskDefinition } from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { chooseRelease, recordedRelease, withRelease } from '../../../src/config.js';
import { deployedRelease, folderBuilding, previousRevision, recordRunningRevision, releaseOfDefinition, releaseOnService, rememberRelease, rolloutConfig } from '../../../src/deploy/release.js';
import { contentHash, imageTagFor } from '../../../src/steps/image.js';
import { testContext } from '../../helpers/context.js';

const ecs = mockClient(ECSClient);
const base = 'arn:aws:ecs:us-east-1:123456789012:task-definition';
const BUNDLED = '/opt/ecs-ha/container';
const image = (tag: string) => `123456789012.dkr.ecr.us-east-1.amazonaws.com/demo:${tag}`;

function definition(revision: number, appVersion: string, tag: string, overrides: Partial<TaskDefinition> = {}): TaskDefinition {
  return {
    taskDefinitionArn: `${base}/demo:${revision}`,
    family: 'demo',
    revision,
    status: 'ACTIVE',
    cpu: '512',
    memory: '1024',
    runtimePlatform: { operatingSystemFamily: 'LINUX', cpuArchitecture: 'ARM64' },
    containerDefinitions: [{ name: 'app', image: image(tag), portMappings: [{ containerPort: 8080 }], environment: [{ name: 'PORT', value: '8080' }, { name: 'APP_VERSION', value: appVersion }] }],
    ...overrides,
  };
}

beforeEach(() => ecs.reset());

describe('choosing the release up and deploy roll out', () => {
  it('a new stack: version 1.0 from the default folder', () => {
    expect(chooseRelease({}, undefined, BUNDLED)).toEqual({ appVersion: '1.0', appDir: BUNDLED });
  });

  it('keeps what runs for what the command line leaves out: a plain up after deploy --app-version 2 stays at 2', () => {
    const deployed = { appVersion: '2', image: image('abc'), appDir: '/srv/app' };
    expect(chooseRelease({}, deployed, BUNDLED)).toEqual({ appVersion: '2', appDir: '/srv/app' });
    expect(chooseRelease({ appVersion: '3' }, deployed, BUNDLED)).toEqual({ appVersion: '3', appDir: '/srv/app' });
    expect(chooseRelease({ appDir: '/elsewhere' }, deployed, BUNDLED)).toEqual({ appVersion: '2', appDir: '/elsewhere' });
  });

  it('an image given with --image is kept as it is until --image or --app-dir says otherwise', () => {
    const pinned = { appVersion: '1.0', image: 'public.ecr.aws/x/app:7' };
    expect(chooseRelease({}, pinned, BUNDLED)).toEqual({ appVersion: '1.0', image: 'public.ecr.aws/x/app:7', appDir: BUNDLED });
    expect(chooseRelease({ appDir: '/srv/app' }, pinned, BUNDLED)).toEqual({ appVersion: '1.0', appDir: '/srv/app' });
    expect(chooseRelease({ image: 'public.ecr.aws/x/app:8' }, pinned, BUNDLED)).toEqual({ appVersion: '1.0', image: 'public.ecr.aws/x/app:8', appDir: BUNDLED });
  });

  it('reads back only a complete remembered release, and remembering one keeps the family', () => {
    expect(recordedRelease({ family: 'demo' })).toBeUndefined();
    expect(recordedRelease({ family: 'demo', appVersion: 2, image: 'x' })).toBeUndefined();
    const details = withRelease({ family: 'demo', appDir: '/old' }, { appVersion: '2', image: 'x' });
    expect(details).toEqual({ family: 'demo', appVersion: '2', image: 'x' });
    expect(recordedRelease(details)).toEqual({ appVersion: '2', image: 'x' });
  });
});

describe('the release on the state and on ECS', () => {
  it('remembers the release on the taskDefinition record, and writes nothing when it already does', () => {
    const ctx = testContext();
    ctx.state.record('taskDefinition', { id: `${base}/demo:2`, arn: `${base}/demo:2`, origin: 'created', details: { family: 'demo' } });
    rememberRelease(ctx.state, { appVersion: '2', image: image('abc'), appDir: '/srv/app' });
    expect(ctx.state.get('taskDefinition')?.details).toEqual({ family: 'demo', appVersion: '2', image: image('abc'), appDir: '/srv/app' });
    const record = vi.spyOn(ctx.state, 'record');
    rememberRelease(ctx.state, { appVersion: '2', image: image('abc'), appDir: '/srv/app' });
    expect(record).not.toHaveBeenCalled();
    rememberRelease(ctx.state, { appVersion: '3', image: image('abc'), appDir: '/srv/app' });
    expect(record).toHaveBeenCalledTimes(1);
  });

  it('a stack of an earlier ecs-ha remembers no release: up reads the recorded revision (one read call)', async () => {
    const ctx = testContext();
    ctx.state.record('taskDefinition', { id: `${base}/demo:4`, arn: `${base}/demo:4`, origin: 'created', details: { family: 'demo' } });
    ctx.state.record('image', { id: image('abc'), origin: 'created', details: { tag: 'abc', pushed: true } });
    ecs.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: definition(4, '3.1', 'abc'), tags: [] });

    expect(await deployedRelease(ctx.aws, ctx.state, BUNDLED)).toEqual({ appVersion: '3.1', image: image('abc'), appDir: BUNDLED });
    expect(ecs.commandCalls(DescribeTaskDefinitionCommand)[0]!.args[0].input.taskDefinition).toBe(`${base}/demo:4`);

    // An image given with --image (adopted) stays pinned.
    ctx.state.record('image', { id: image('abc'), origin: 'adopted', details: { tag: 'abc', pushed: false } });
    expect(await deployedRelease(ctx.aws, ctx.state, BUNDLED)).toEqual({ appVersion: '3.1', image: image('abc') });
  });

  it('a new stack has no release and makes no call', async () => {
    const ctx = testContext();
    expect(await deployedRelease(ctx.aws, ctx.state, BUNDLED)).toBeUndefined();
    expect(ecs.calls()).toHaveLength(0);
  });

  it('deploy trusts the remembered release only for the revision the service runs', () => {
    const ctx = testContext();
    ctx.state.record('image', { id: image('abc'), origin: 'created' });
    ctx.state.record('taskDefinition', { id: `${base}/demo:2`, origin: 'created', details: { family: 'demo', appVersion: '2', image: image('abc'), appDir: '/srv/app' } });
    expect(releaseOnService(ctx.state, definition(2, '2', 'abc'), BUNDLED)).toEqual({ appVersion: '2', image: image('abc'), appDir: '/srv/app' });
    // The service runs another revision (changed outside ecs-ha): what ECS says it runs.
    expect(releaseOnService(ctx.state, definition(5, '9', 'fff'), BUNDLED)).toEqual({ appVersion: '9', image: image('fff'), appDir: BUNDLED });
  });

  it('reads the version from APP_VERSION (1.0 when the container sets none) and the image', () => {
    expect(releaseOfDefinition(definition(1, '2.5', 'abc'))).toEqual({ appVersion: '2.5', image: image('abc') });
    expect(releaseOfDefinition(definition(1, '', 'abc', { containerDefinitions: [{ name: 'app', image: 'x' }] }))).toEqual({ appVersion: '1.0', image: 'x' });
  });

  it('rolls out with the running revision\'s size, architecture and port and the service\'s desired count', () => {
    const config = rolloutConfig('demo', { desiredCount: 3 }, definition(2, '2', 'abc'), { appVersion: '3', appDir: '/srv/app' }, true);
    expect(config).toMatchObject({ stack: 'demo', count: 3, cpu: 512, memory: 1024, arch: 'arm64', appPort: 8080, appVersion: '3', appDir: '/srv/app', skipDocker: true });
    expect(config.image).toBeUndefined();
  });

  it('records the revision the service runs, from the records it knows', () => {
    const ctx = testContext();
    const one = { id: `${base}/demo:1`, origin: 'created' as const, details: { family: 'demo', appVersion: '1.0', image: 'x' } };
    const two = { id: `${base}/demo:2`, origin: 'created' as const, details: { family: 'demo', appVersion: '2', image: 'x' } };
    ctx.state.record('taskDefinition', two);
    recordRunningRevision(ctx.state, `${base}/demo:1`, [one, two]);
    expect(ctx.state.get('taskDefinition')).toEqual(one);
    // A revision none of them names (the service changed outside ecs-ha): left alone.
    recordRunningRevision(ctx.state, `${base}/demo:7`, [one, two]);
    expect(ctx.state.get('taskDefinition')).toEqual(one);
  });
});

describe('the revision a rollback goes back to', () => {
  it('is the highest ACTIVE revision of exactly the family below the running one, over every page', async () => {
    ecs
      .on(ListTaskDefinitionsCommand)
      .resolvesOnce({ taskDefinitionArns: [`${base}/demo:9`, `${base}/demox:8`, `${base}/demo:7`], nextToken: 'page2' })
      .resolvesOnce({ taskDefinitionArns: [`${base}/demo:5`, `${base}/demo:3`] });

    expect(await previousRevision(testContext().aws, `${base}/demo:8`)).toBe(`${base}/demo:7`);

    const calls = ecs.commandCalls(ListTaskDefinitionsCommand).map((c) => c.args[0].input);
    expect(calls).toEqual([
      { familyPrefix: 'demo', status: 'ACTIVE', sort: 'DESC' },
      { familyPrefix: 'demo', status: 'ACTIVE', sort: 'DESC', nextToken: 'page2' },
    ]);
  });

  it('is none when the running revision is the oldest ACTIVE one', async () => {
    ecs.on(ListTaskDefinitionsCommand).resolves({ taskDefinitionArns: [`${base}/demo:3`, `${base}/demo:2`] });
    expect(await previousRevision(testContext().aws, `${base}/demo:2`)).toBeUndefined();
  });

  it('finds the folder that still builds the revision\'s image, by its content hash', () => {
    const one = mkdtempSync(join(tmpdir(), 'ecs-ha-app-'));
    const two = mkdtempSync(join(tmpdir(), 'ecs-ha-app-'));
    writeFileSync(join(one, 'Dockerfile'), 'FROM a\n');
    writeFileSync(join(two, 'Dockerfile'), 'FROM b\n');
    const tagOfTwo = imageTagFor(contentHash(two, 'x86_64'), 'x86_64');
    expect(folderBuilding(image(tagOfTwo), 'x86_64', [one, undefined, two])).toBe(two);
    expect(folderBuilding(image(tagOfTwo), 'arm64', [one, two])).toBeUndefined();
    expect(folderBuilding(image('000000000000'), 'x86_64', [one, join(one, 'gone')])).toBeUndefined();
  });
});
