/**
 * `deploy` and `rollback` end to end on the local data plane, as a user runs them: a rolling
 * deployment of version 2 measured while real app processes are replaced behind the local load
 * balancer; a plain `up` that keeps what was deployed; a rollback; and the negative twin: a new
 * version whose health check fails, rolled back by the circuit breaker while the old one answers.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RolloutReport } from '../../src/deploy/report.js';
import { allows, iamActionFor, policyDocument } from '../../src/policy/policy.js';
import { downLocalAfterTest, localEnv, readTrace, runCli, tempDir } from './harness.js';

const STACK = 'dep';
/** An app whose /health answers 500 (test/fixtures/unhealthy-app): its tasks never turn healthy. */
const UNHEALTHY_APP = resolve('test/fixtures/unhealthy-app');
const MEASURE = ['--rps', '20', '--baseline', '1', '--settle', '1'];

describe('deploy and rollback on the local data plane', () => {
  const cwd = tempDir();
  const env = localEnv();
  let url = '';
  const reportsDir = join(cwd, '.ecs-ha', 'reports');
  const reports = (): string[] => (existsSync(reportsDir) ? readdirSync(reportsDir).filter((name) => name.endsWith('.json')) : []);
  const stateRecord = () => (JSON.parse(readFileSync(join(cwd, '.ecs-ha', `${STACK}.json`), 'utf8')) as { resources: Record<string, { id: string; details?: Record<string, unknown> }> }).resources.taskDefinition!;
  const answer = async (): Promise<string> => (await fetch(url)).text();

  /** The IAM actions of a traced run that `ecs-ha policy` does not grant (STS's identity call needs none). */
  const notGranted = (trace: string): string[] =>
    [...new Set(readTrace(trace).filter((call) => call.service !== 'STS').map((call) => iamActionFor(call.service, call.operation)))].filter((action) => !allows(policyDocument({ stack: STACK }), action));

  /** What the report says of each version per second: the share of version 2 moves from 0 to 1. */
  const shareOf = (report: RolloutReport, version: string) =>
    report.series.filter((b) => Object.keys(b.versions).length > 0).map((b) => (b.versions[version] ?? 0) / Object.values(b.versions).reduce((sum, n) => sum + n, 0));

  beforeAll(async () => {
    const up = await runCli(['up', '--local', '--stack', STACK, '--json'], { cwd, env, timeoutMs: 120_000 });
    expect(up.code, up.stderr).toBe(0);
    url = JSON.parse(up.stdout).url as string;
  });

  afterAll(async () => {
    await runCli(['down', '--local', '--stack', STACK], { cwd, env });
  });

  it('deploy --local --app-version 2: both versions answer during the rollout, the share moves from 1.0 to 2, no request fails', async () => {
    const trace = join(cwd, 'deploy.jsonl');
    const deploy = await runCli(['deploy', '--local', '--stack', STACK, '--app-version', '2', '--json', '--trace', trace, ...MEASURE], { cwd, env, timeoutMs: 120_000 });
    expect(deploy.code, deploy.stderr).toBe(0);
    expect(notGranted(trace)).toEqual([]);
    expect(readTrace(trace).filter((call) => call.operation === 'UpdateService')).toHaveLength(1);
    const report = JSON.parse(deploy.stdout) as RolloutReport;
    expect(report).toMatchObject({ command: 'deploy', strategy: 'rolling', outcome: 'completed', passed: true, rollback: null, from: { appVersion: '1.0' }, to: { appVersion: '2' } });
    expect(report.userSaw.failures, JSON.stringify(report.failedRequests)).toBe(0);
    expect(report.userSaw.requests).toBeGreaterThan(80);
    expect(report.phases.before!.versions.map((v) => v.version)).toEqual(['1.0']);
    expect(report.phases.during!.versions.map((v) => v.version)).toEqual(['1.0', '2']);
    expect(report.phases.after!.versions.map((v) => v.version)).toEqual(['2']);
    const share = shareOf(report, '2');
    expect(share[0]).toBe(0);
    expect(share.at(-1)).toBe(1);
    // Once version 2 answers everything, version 1.0 never answers again.
    expect(share.slice(share.indexOf(1)).every((s) => s === 1), share.join(' ')).toBe(true);
    // ECS's account: the deployment this command followed completed.
    expect(report.timeline.some((e) => e.event === 'ECS' && e.detail?.includes(`(deployment ${report.deploymentId}) deployment completed`))).toBe(true);
    expect(report.timeline.map((e) => e.event)).toEqual(expect.arrayContaining(['update requested', 'deployment started', 'task healthy', 'task stopped', 'deployment completed', 'first answer', 'last answer']));
    const written = /report written to (\S+)/.exec(deploy.stderr)?.[1];
    expect(written).toMatch(new RegExp(`^\\.ecs-ha/reports/${STACK}-deploy-\\d{8}T\\d{6}Z\\.json$`));
    expect(JSON.parse(readFileSync(join(cwd, written!), 'utf8'))).toEqual(report);
    expect(await answer()).toMatch(/ - Version 2$/);
    expect(stateRecord()).toMatchObject({ id: expect.stringMatching(/:task-definition\/dep:2$/), details: { appVersion: '2' } });
  });

  it('a plain up afterwards keeps version 2: no change, no mutating call', async () => {
    const trace = join(cwd, 'up-after-deploy.jsonl');
    const up = await runCli(['up', '--local', '--stack', STACK, '--json', '--trace', trace], { cwd, env, timeoutMs: 120_000 });
    expect(up.code, up.stderr).toBe(0);
    expect(JSON.parse(up.stdout).changed).toEqual([]);
    expect(readTrace(trace).filter((call) => !/^(Describe|List|Get)/.test(call.operation)).map((call) => call.operation)).toEqual([]);
    expect(await answer()).toMatch(/ - Version 2$/);
  });

  it('deploy with nothing to change says so and exits 0 without touching the service or writing a report', async () => {
    const trace = join(cwd, 'deploy-nothing.jsonl');
    const before = reports();
    const deploy = await runCli(['deploy', '--local', '--stack', STACK, '--app-version', '2', '--trace', trace], { cwd, env });
    expect(deploy.code, deploy.stderr).toBe(0);
    expect(deploy.stdout).toMatch(/^Nothing to deploy: service "dep" already runs dep:2 \(version 2, image \S+\); the service was not touched\.\n$/);
    expect(readTrace(trace).map((call) => call.operation)).not.toEqual(expect.arrayContaining(['UpdateService']));
    expect(readTrace(trace).map((call) => call.operation)).not.toEqual(expect.arrayContaining(['RegisterTaskDefinition']));
    expect(reports()).toEqual(before);
  });

  it('rollback --local goes back to 1.0, measured the same way; a plain up keeps 1.0', async () => {
    const trace = join(cwd, 'rollback.jsonl');
    const rollback = await runCli(['rollback', '--local', '--stack', STACK, '--json', '--trace', trace, ...MEASURE], { cwd, env, timeoutMs: 120_000 });
    expect(rollback.code, rollback.stderr).toBe(0);
    expect(notGranted(trace)).toEqual([]);
    expect(readTrace(trace).map((call) => call.operation)).not.toContain('RegisterTaskDefinition');
    const report = JSON.parse(rollback.stdout) as RolloutReport;
    expect(report).toMatchObject({ command: 'rollback', outcome: 'completed', passed: true, from: { revision: 'dep:2', appVersion: '2' }, to: { revision: 'dep:1', appVersion: '1.0' } });
    expect(report.userSaw.failures, JSON.stringify(report.failedRequests)).toBe(0);
    expect(report.phases.after!.versions.map((v) => v.version)).toEqual(['1.0']);
    expect(rollback.stderr).toMatch(new RegExp(`report written to \\.ecs-ha/reports/${STACK}-rollback-`));
    expect(stateRecord()).toMatchObject({ id: expect.stringMatching(/:task-definition\/dep:1$/), details: { appVersion: '1.0' } });

    const up = await runCli(['up', '--local', '--stack', STACK, '--json'], { cwd, env, timeoutMs: 120_000 });
    expect(up.code, up.stderr).toBe(0);
    expect(JSON.parse(up.stdout).changed).toEqual([]);
    expect(await answer()).toMatch(/ - Version 1\.0$/);
  });

  it('a new version whose health check fails is rolled back by the circuit breaker: exit 1 with ECS\'s reason; the old version answered throughout', async () => {
    const deploy = await runCli(['deploy', '--local', '--stack', STACK, '--app-dir', UNHEALTHY_APP, '--app-version', '3', '--json', ...MEASURE], { cwd, env, timeoutMs: 120_000 });
    expect(deploy.code, deploy.stderr).toBe(1);
    // With --json the report is the one document on stdout (the exit code says it failed), the same as its file.
    const written = /report written to (\S+)/.exec(deploy.stderr)?.[1];
    const report = JSON.parse(readFileSync(join(cwd, written!), 'utf8')) as RolloutReport;
    expect(JSON.parse(deploy.stdout)).toEqual(report);
    expect(deploy.stderr).toContain(`error: deploy failed: ${report.verdict}`);
    expect(report).toMatchObject({ outcome: 'rolled back', passed: false, from: { revision: 'dep:1', appVersion: '1.0' }, to: { appVersion: '3' } });
    expect(report.rollback).toMatchObject({ reason: expect.stringMatching(/tasks failed to start/), taskDefinition: expect.stringMatching(/dep:1$/), completed: true });
    // The circuit breaker counts failed launches: 3 for a desired count of 2.
    expect(report.rollback!.failedTasks.length).toBeGreaterThanOrEqual(3);
    for (const task of report.rollback!.failedTasks) expect(task.reason).toMatch(/^Task failed ELB health checks in \(target-group /);
    // What a user saw: only 1.0 answered, and no request failed (old targets stayed healthy, so the load balancer never failed open).
    expect(report.versions.map((v) => v.version)).toEqual(['1.0']);
    expect(report.userSaw.failures, JSON.stringify(report.failedRequests)).toBe(0);
    expect(deploy.stderr).toContain('error: deploy failed: rolled back by ECS:');
    expect(deploy.stderr).toMatch(/hint: the report is in \.ecs-ha\/reports\/dep-deploy-/);
    expect(stateRecord()).toMatchObject({ id: expect.stringMatching(/:task-definition\/dep:1$/), details: { appVersion: '1.0' } });
    expect(await answer()).toMatch(/ - Version 1\.0$/);
  });

  it('refuses a native strategy on the local data plane, and a bad --rps, before any AWS call (exit 2)', async () => {
    const trace = join(cwd, 'refused.jsonl');
    const strategy = await runCli(['deploy', '--local', '--stack', STACK, '--strategy', 'canary', '--trace', trace], { cwd, env });
    expect(strategy.code).toBe(2);
    expect(strategy.stderr).toContain('error: --strategy canary with --local: the local data plane deploys rolling only');
    const rps = await runCli(['rollback', '--local', '--stack', STACK, '--rps', '0', '--trace', trace], { cwd, env });
    expect(rps.code).toBe(2);
    expect(rps.stderr).toContain('error: invalid --rps "0": expected a whole number from 1 to 100');
    expect(readTrace(trace)).toEqual([]);
  });
});

describe('deploy without a stack', () => {
  it('says there is no local stack to deploy to (exit 1), and starts nothing', async () => {
    const cwd = tempDir();
    const env = localEnv();
    downLocalAfterTest(cwd, 'none', env);
    const deploy = await runCli(['deploy', '--local', '--stack', 'none', '--app-version', '2'], { cwd, env });
    expect(deploy.code).toBe(1);
    expect(deploy.stderr).toContain('the local AWS emulator for stack "none" is not running, so there is no local stack');
    expect(existsSync(join(cwd, '.ecs-ha', 'none.emulator.json'))).toBe(false);
  });
});
