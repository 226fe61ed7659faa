import type { AwsClients } from '../aws/clients.js';
import type { Clock } from '../clock.js';
import type { ResourceNames, StackConfig } from '../config.js';
import type { CommandRunner } from '../process/runner.js';
import type { ResourceRecord, StateStore } from '../state/store.js';
import type { Ownership } from './ownership.js';
import type { PlanContext, PlannedChange } from './plan.js';

/** What the steps of one stack work with: the engine holds it, and hands it to each step. */
export interface StackResources {
  config: StackConfig;
  names: ResourceNames;
  aws: AwsClients;
  state: StateStore;
  clock: Clock;
  runner: CommandRunner;
  /**
   * How long a step may wait for AWS (load balancer provisioning, ENI release …): what is left of
   * the command's --timeout when the step starts, so the timeout bounds the whole command.
   */
  waitTimeoutMs: number;
}

/** What a step gets to do its work. One per step run, with `progress` bound to that step. */
export interface StepContext extends StackResources {
  /** Shows how a long wait is going. */
  progress(message: string): void;
  /** Tells the user something worth knowing (adopted a role, skipped Docker …). */
  notice(message: string): void;
  /** The result of the step's `lookup`, when the engine started it early (see Step.lookup). */
  prefetched?: Promise<unknown>;
}

/** The step's lookup: the one the engine started early, or one made now. */
export function lookedUp<T>(ctx: StepContext, lookup: (ctx: StepContext) => Promise<T>): Promise<T> {
  return (ctx.prefetched as Promise<T> | undefined) ?? lookup(ctx);
}

export type StepId =
  | 'docker'
  | 'repository'
  | 'image'
  | 'cluster'
  | 'serviceLinkedRole'
  | 'executionRole'
  | 'logGroup'
  | 'network'
  | 'albSecurityGroup'
  | 'taskSecurityGroup'
  | 'loadBalancer'
  | 'targetGroup'
  | 'alternateTargetGroup'
  | 'listener'
  | 'listenerRule'
  | 'infrastructureRole'
  | 'namespace'
  | 'discoveryService'
  | 'taskDefinition'
  | 'service'
  | 'autoScaling';

/**
 * One provisioning step of the tutorial. `ensure` creates or adopts its resources and records
 * each in the state as soon as it exists; `destroy` removes what the state says this stack
 * created (not-found counts as removed); `discover` finds the stack's own resources by name and
 * tag when the state file is lost, recording only those that carry the stack's tag.
 */
export interface Step {
  id: StepId;
  /** What the step makes, for progress lines: "load balancer". */
  title: string;
  dependsOn: StepId[];
  /**
   * The step changes nothing: it finds out whether the environment is ready (a VPC with public
   * subnets, Docker). In `up`, every step that changes something waits for these, so a missing
   * piece stops the run before anything is created.
   */
  checksEnvironment?: boolean;
  ensure(ctx: StepContext): Promise<string>;
  /**
   * A read-only lookup of the step's own resource that needs nothing other steps make. When steps
   * run without a concurrency limit, `up` starts every lookup at once, so that a step's "describe
   * first" does not wait for its dependencies; `ensure` reads the result with `lookedUp`.
   */
  lookup?(ctx: StepContext): Promise<unknown>;
  /**
   * What `ensure` would do, found out with read calls only and decided as `ensure` decides: create,
   * update, adopt or keep (one change per resource the step makes). It records nothing: what
   * `ensure` would record it tells `ctx.state` (a PlannedState), for the later steps' plans.
   */
  plan?(ctx: PlanContext): Promise<PlannedChange | PlannedChange[]>;
  destroy(ctx: StepContext): Promise<string>;
  /**
   * Before `down` deletes what the state calls created: whether the resource really is the stack's
   * (name, ARN in the state's account and region, stack tag). Checks on the record come first, so
   * a foreign ARN is never sent to AWS. Steps that delete nothing have none.
   */
  proveOwnership?(ctx: StepContext, record: ResourceRecord): Promise<Ownership>;
  discover(ctx: StepContext): Promise<void>;
}
