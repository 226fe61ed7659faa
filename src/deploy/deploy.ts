/**
 * `ecs-ha deploy` and `ecs-ha rollback` under the stack's lock: work out what to roll out, run the
 * steps a release changes (the same ensure path `up` takes: image, task definition, then the
 * service), and measure the rollout (run.ts). The state ends up naming the revision the service
 * runs, so a later `up` keeps it.
 */
import { attributeCallsTo } from '../aws/clients.js';
import { chooseRelease, type Release } from '../config.js';
import { explainStepError, runPhase, stepContext, type Engine } from '../engine/run.js';
import type { Step } from '../engine/step.js';
import { hasStackTag } from '../engine/tags.js';
import { OperationError } from '../errors.js';
import { stackRefs } from '../inspect/stack.js';
import { noStateFile, stackEngine, withStackState, type Session } from '../session.js';
import type { ResourceRecord, StateStore } from '../state/store.js';
import { dockerStep } from '../steps/docker.js';
import { imageStep } from '../steps/image.js';
import { repositoryStep } from '../steps/repository.js';
import { serviceStep } from '../steps/service.js';
import { taskDefinitionStep } from '../steps/taskDefinition.js';
import { shareAppFolder } from './localApp.js';
import { deploymentFor, type DeployOptions, type MeasureOptions, type StrategyRequest } from './options.js';
import { recordedDeployment, ROLLING, type DeploymentSettings } from './strategy.js';
import {
  architectureOf,
  describeRevision,
  folderBuilding,
  previousRevision,
  recordRunningRevision,
  releaseOfConfig,
  releaseOfDefinition,
  releaseOnService,
  rememberRelease,
  revisionName,
  rolloutConfig,
} from './release.js';
import type { RevisionRef, RolloutReport } from './report.js';
import { checkServiceBeforeRollout, measureRollout, type RolloutDependencies } from './run.js';

export type DeployResult =
  | { changed: false; stack: string; service: string; taskDefinition: string; appVersion: string; image: string }
  | { changed: true; report: RolloutReport };

/** The steps a new release changes; every other resource of the stack is left as `up` made it. */
const RELEASE_STEPS: readonly Step[] = [dockerStep, repositoryStep, imageStep, taskDefinitionStep];

/** The steps with only the dependencies among themselves: the others exist already (a stack `up` built). */
function onTheirOwn(steps: readonly Step[]): Step[] {
  const ids = new Set(steps.map((step) => step.id));
  return steps.map((step) => ({ ...step, dependsOn: step.dependsOn.filter((id) => ids.has(id)) }));
}

function requireRecords(state: StateStore, stack: string, keys: string[]): void {
  const missing = keys.filter((key) => !state.get(key));
  if (missing.length > 0) {
    throw new OperationError(`stack "${stack}" is not complete: the state file has no ${missing.join(', ')}`, `run \`ecs-ha up --stack ${stack}\` first`);
  }
}

function revisionRef(taskDefinition: string, release: { appVersion: string; image: string }): RevisionRef {
  return { taskDefinition, revision: revisionName(taskDefinition), appVersion: release.appVersion, image: release.image };
}

/**
 * The service step on its own, as the engine would run it (same progress lines and error
 * wording): resolves true once the service was updated. Ctrl-C before its call: false.
 */
async function updateService(session: Session, engine: Engine): Promise<boolean> {
  if (session.signal.aborted) return false;
  session.reporter.start(serviceStep.id, `updating ${serviceStep.title}`);
  try {
    const summary = await attributeCallsTo(serviceStep.id, () => serviceStep.ensure(stepContext(engine, serviceStep)));
    session.reporter.succeed(serviceStep.id, summary);
    return true;
  } catch (error) {
    const explained = explainStepError(serviceStep, error);
    session.reporter.fail(serviceStep.id, explained.message);
    throw explained;
  }
}

/**
 * The strategy the rollout uses: the stack's (its service record), which `--strategy` may only name
 * again, with the settings given replacing the stack's; refused (exit 2) before any ECS call. With
 * `changed`, the service's deploymentConfiguration is updated by the same UpdateService that rolls
 * the new revision out (the service step sees `config.deployment`).
 */
function rolloutStrategy(session: Session, state: StateStore, request: StrategyRequest | undefined): { settings: DeploymentSettings; changed: boolean } {
  if (!state.exists) throw noStateFile(session);
  return deploymentFor(request, recordedDeployment(state.get('service')) ?? ROLLING, session.stack, session.local);
}

/** What both commands find out first: the stack's refs, the service as it is, and the revision it runs. */
async function rolloutStart(session: Session, state: StateStore) {
  if (!state.exists) throw noStateFile(session);
  const refs = stackRefs(state.snapshot());
  requireRecords(state, session.stack, ['cluster', 'executionRole', 'logGroup', 'taskDefinition']);
  const checked = await checkServiceBeforeRollout(session, refs, state.get('service')?.origin === 'adopted');
  const runningArn = checked.service.taskDefinition;
  const running = runningArn ? await describeRevision(session.aws, runningArn) : undefined;
  if (!runningArn || !running) throw new OperationError(`service ${refs.service} runs no task definition ECS can describe (${runningArn ?? 'none'})`, `run \`ecs-ha up --stack ${session.stack}\``);
  return { refs, ...checked, runningArn, running: running.definition };
}

/** What the rollout needs to know of a native strategy; nothing for rolling (its path stays as it was). */
function nativePlan(settings: DeploymentSettings, serviceDeploymentBefore: string | undefined): { strategy?: DeploymentSettings['strategy']; serviceDeploymentBefore?: string } {
  if (settings.strategy === 'rolling') return {};
  return { strategy: settings.strategy, ...(serviceDeploymentBefore ? { serviceDeploymentBefore } : {}) };
}

export async function runDeploy(session: Session, options: DeployOptions, defaultAppDir: string, deps: RolloutDependencies = {}): Promise<DeployResult> {
  return withStackState(session, 'deploy', async (state) => {
    const strategy = rolloutStrategy(session, state, options.strategy);
    const { refs, service, tasksBefore, eventsBefore, runningArn, running } = await rolloutStart(session, state);
    const deployed = releaseOnService(state, running, defaultAppDir);
    const config = {
      ...rolloutConfig(session.stack, service, running, chooseRelease(options.release, deployed, defaultAppDir), session.local),
      // Only with --strategy: the service step then compares the service's configuration with it (and records it).
      ...(options.strategy ? { deployment: strategy.settings } : {}),
    };
    const before = state.get('taskDefinition');
    const engine = stackEngine(session, config, state, { timeoutMs: options.timeoutMs });
    let target: ResourceRecord | undefined;
    let updated = false;
    let serviceRuns: string | undefined;
    try {
      await runPhase(engine, onTheirOwn(RELEASE_STEPS), 'ensure');
      const release = releaseOfConfig(config, state);
      rememberRelease(state, release);
      target = state.get('taskDefinition');
      const toArn = target!.id;
      if (toArn === runningArn) {
        return { changed: false, stack: session.stack, service: refs.service, taskDefinition: revisionName(toArn), appVersion: release.appVersion, image: release.image };
      }
      if (!config.image) await shareAppFolder(session, config.appDir);
      const measured = await measureRollout(
        session,
        {
          command: 'deploy',
          refs,
          from: revisionRef(runningArn, deployed),
          to: revisionRef(toArn, release),
          tasksBefore,
          eventsBefore,
          ...nativePlan(strategy.settings, service.currentServiceDeployment),
          update: async () => (updated = await updateService(session, engine)),
        },
        options,
        deps,
      );
      serviceRuns = measured.serviceTaskDefinition;
      return { changed: true, report: measured.report };
    } finally {
      // Not deployed (nothing to do, Ctrl-C, a failure before the update), or rolled back: the old revision.
      recordRunningRevision(state, serviceRuns ?? (updated ? target?.id : runningArn), [before, target]);
    }
  });
}

/**
 * `ecs-ha rollback`: the service goes back to the previous ACTIVE revision of its family, measured
 * as a deployment. The state then names that revision (and its release), so `up` keeps it.
 */
export async function runRollback(session: Session, options: MeasureOptions, defaultAppDir: string, deps: RolloutDependencies = {}): Promise<RolloutReport> {
  return withStackState(session, 'rollback', async (state) => {
    const strategy = rolloutStrategy(session, state, undefined);
    const { refs, service, tasksBefore, eventsBefore, runningArn, running } = await rolloutStart(session, state);
    const previousArn = await previousRevision(session.aws, runningArn);
    const previous = previousArn ? await describeRevision(session.aws, previousArn) : undefined;
    if (!previousArn || !previous) {
      throw new OperationError(`there is no ACTIVE revision of ${revisionName(runningArn).split(':')[0]} before ${revisionName(runningArn)}, which service ${refs.service} runs: nothing to roll back to`, 'deploy the version you want with `ecs-ha deploy --app-version V`');
    }
    const current = releaseOnService(state, running, defaultAppDir);
    const back = releaseOfDefinition(previous.definition);
    // The folder it was built from, when the current one or the default one still builds that very image.
    const folder = folderBuilding(back.image, architectureOf(previous.definition), [current.appDir, defaultAppDir]);
    const release: Release = { ...back, ...(folder ? { appDir: folder } : {}) };
    const before = state.get('taskDefinition');
    // Only the service step runs: it updates the service to the revision the state names.
    const target: ResourceRecord = {
      id: previousArn,
      arn: previousArn,
      origin: hasStackTag(previous.tags, session.stack) ? 'created' : (before?.origin ?? 'adopted'),
      details: { family: revisionName(previousArn).split(':')[0] },
    };
    const config = rolloutConfig(session.stack, service, running, { appVersion: release.appVersion, appDir: release.appDir ?? defaultAppDir }, session.local);
    const engine = stackEngine(session, config, state, { timeoutMs: options.timeoutMs });
    let updated = false;
    let serviceRuns: string | undefined;
    try {
      state.record('taskDefinition', target);
      rememberRelease(state, release);
      if (folder) await shareAppFolder(session, folder);
      const measured = await measureRollout(
        session,
        {
          command: 'rollback',
          refs,
          from: revisionRef(runningArn, current),
          to: revisionRef(previousArn, release),
          tasksBefore,
          eventsBefore,
          ...nativePlan(strategy.settings, service.currentServiceDeployment),
          update: async () => (updated = await updateService(session, engine)),
        },
        options,
        deps,
      );
      serviceRuns = measured.serviceTaskDefinition;
      return measured.report;
    } finally {
      recordRunningRevision(state, serviceRuns ?? (updated ? previousArn : runningArn), [before, state.get('taskDefinition')]);
    }
  });
}
