/**
 * What a stack runs (its release: app version, image, the folder the image comes from), as the state
 * remembers it and as ECS's task definitions say it; the config a release is rolled out with; and
 * the revision a rollback goes back to.
 */
import { DescribeTaskDefinitionCommand, ListTaskDefinitionsCommand, type Service, type Tag, type TaskDefinition } from '@aws-sdk/client-ecs';
import type { AwsClients } from '../aws/clients.js';
import { awsErrorMessage, isAwsError } from '../aws/errors.js';
import { DEFAULT_APP_VERSION, recordedRelease, withRelease, type Architecture, type Release, type StackConfig } from '../config.js';
import type { ResourceRecord, StateStore } from '../state/store.js';
import { contentHash, imageTagFor, tagOf } from '../steps/image.js';

/** `arn:…:task-definition/ha:3` → `ha:3`. */
export function revisionName(arn: string): string {
  return arn.slice(arn.lastIndexOf('/') + 1);
}

function revisionNumber(arn: string): number {
  return Number(arn.slice(arn.lastIndexOf(':') + 1));
}

function familyOf(arn: string): string {
  const name = revisionName(arn);
  return name.slice(0, name.lastIndexOf(':'));
}

/** A revision with its tags; undefined when ECS has no such revision. */
export async function describeRevision(aws: AwsClients, taskDefinition: string): Promise<{ definition: TaskDefinition; tags: Tag[] } | undefined> {
  try {
    const out = await aws.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition, include: ['TAGS'] }));
    return out.taskDefinition ? { definition: out.taskDefinition, tags: out.tags ?? [] } : undefined;
  } catch (error) {
    // ECS answers a missing revision with a ClientException, not a code of its own.
    if (isAwsError(error, 'ClientException') && /unable to describe task definition|revision is missing|does not exist/i.test(awsErrorMessage(error))) return undefined;
    throw error;
  }
}

/** The app version (the container's APP_VERSION) and image a revision runs. */
export function releaseOfDefinition(definition: TaskDefinition): { appVersion: string; image: string } {
  const container = definition.containerDefinitions?.[0];
  const appVersion = container?.environment?.find((e) => e.name === 'APP_VERSION')?.value;
  return { appVersion: appVersion ?? DEFAULT_APP_VERSION, image: container?.image ?? '' };
}

export function architectureOf(definition: TaskDefinition): Architecture {
  return definition.runtimePlatform?.cpuArchitecture === 'ARM64' ? 'arm64' : 'x86_64';
}

/**
 * A stack of an earlier ecs-ha remembers no release: read it off the revision. Its image was built
 * from the default folder unless it was given with --image (then the image record is adopted).
 */
function releaseFromRevision(definition: TaskDefinition, state: StateStore, defaultAppDir: string): Release {
  const pinned = state.get('image')?.origin === 'adopted';
  return { ...releaseOfDefinition(definition), ...(pinned ? {} : { appDir: defaultAppDir }) };
}

/** For `up`: the release the state remembers; for a stack that remembers none, the recorded revision's (one read). */
export async function deployedRelease(aws: AwsClients, state: StateStore, defaultAppDir: string): Promise<Release | undefined> {
  const record = state.get('taskDefinition');
  if (!record) return undefined;
  const remembered = recordedRelease(record.details);
  if (remembered) return remembered;
  const found = await describeRevision(aws, record.id);
  return found ? releaseFromRevision(found.definition, state, defaultAppDir) : undefined;
}

/** For `deploy` and `rollback`: what the service runs, with the folder the state remembers for it. */
export function releaseOnService(state: StateStore, running: TaskDefinition, defaultAppDir: string): Release {
  const record = state.get('taskDefinition');
  const remembered = record?.id === running.taskDefinitionArn ? recordedRelease(record?.details) : undefined;
  return remembered ?? releaseFromRevision(running, state, defaultAppDir);
}

/** The release a config rolls out, once the image step has recorded the image. */
export function releaseOfConfig(config: StackConfig, state: StateStore): Release {
  return { appVersion: config.appVersion, image: state.require('image').id, ...(config.image ? {} : { appDir: config.appDir }) };
}

/** Remembers `release` on the taskDefinition record (no write when it already does). */
export function rememberRelease(state: StateStore, release: Release): void {
  const record = state.get('taskDefinition');
  if (!record) return;
  const details = withRelease(record.details, release);
  if (JSON.stringify(details) !== JSON.stringify(record.details)) state.record('taskDefinition', { ...record, details });
}

/** Records whichever of `records` names the revision the service runs; leaves the state alone when none does. */
export function recordRunningRevision(state: StateStore, running: string | undefined, records: Array<ResourceRecord | undefined>): void {
  if (!running || state.get('taskDefinition')?.id === running) return;
  const match = records.find((record) => record?.id === running);
  if (match) state.record('taskDefinition', match);
}

/**
 * The stack config a release is rolled out with: size, architecture and port of the revision the
 * service runs, its desired count, and the release. Only the steps a release changes run with it
 * (image, task definition, service), so nothing else of the stack is changed to `up`'s defaults.
 */
export function rolloutConfig(stack: string, service: Service, running: TaskDefinition, release: Pick<StackConfig, 'appVersion' | 'image' | 'appDir'>, local: boolean): StackConfig {
  return {
    stack,
    count: service.desiredCount ?? 0,
    cpu: Number(running.cpu),
    memory: Number(running.memory),
    arch: architectureOf(running),
    ...release,
    appPort: running.containerDefinitions?.[0]?.portMappings?.[0]?.containerPort ?? 8080,
    listenerPort: 80,
    // Unused: the log group step does not run in a rollout.
    logRetentionDays: 7,
    skipDocker: local,
  };
}

/**
 * The highest ACTIVE revision of the family below `current` (ListTaskDefinitions, every page);
 * undefined when there is none.
 */
export async function previousRevision(aws: AwsClients, current: string): Promise<string | undefined> {
  const family = familyOf(current);
  const below = revisionNumber(current);
  let best: string | undefined;
  let nextToken: string | undefined;
  do {
    const page = await aws.ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: family, status: 'ACTIVE', sort: 'DESC', ...(nextToken ? { nextToken } : {}) }));
    for (const arn of page.taskDefinitionArns ?? []) {
      // familyPrefix alone would also match "<family>x".
      if (familyOf(arn) !== family) continue;
      const revision = revisionNumber(arn);
      if (revision < below && (best === undefined || revision > revisionNumber(best))) best = arn;
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return best;
}

/** The folder among `candidates` whose files hash to the image's tag now: the one it was built from. */
export function folderBuilding(image: string, arch: Architecture, candidates: ReadonlyArray<string | undefined>): string | undefined {
  const tag = tagOf(image);
  for (const dir of new Set(candidates)) {
    if (!dir) continue;
    try {
      if (imageTagFor(contentHash(dir, arch), arch) === tag) return dir;
    } catch {
      // a folder that is gone builds nothing
    }
  }
  return undefined;
}
