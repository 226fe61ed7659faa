/**
 * `ecs-ha plan` and `up --dry-run` against the emulator: what up would do, with read calls only and
 * nothing written; exit 4 while something would change, 0 once nothing would.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteLogGroupCommand } from '@aws-sdk/client-cloudwatch-logs';
import { describe, expect, it } from 'vitest';
import { isMutatingOperation } from '../../src/aws/clients.js';
import type { PlanResult } from '../../src/commands/plan.js';
import { CHANGING_ACTIONS } from '../../src/engine/plan.js';
import { emulatorEnv, emulatorPerFile, localEnv, PREBUILT_IMAGE, readTrace, runCli, runCliInterrupted, tempDir, type CliResult, uniqueStack } from './harness.js';
import { emulatorClients } from './inventory.js';

const upOptions = (stack: string) => ['--stack', stack, '--image', PREBUILT_IMAGE];

const emulator = emulatorPerFile();

/** Runs `args` with --json and --trace; returns the exit, the plan and the calls it made. */
async function planned(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<{ run: CliResult; plan: PlanResult; operations: string[] }> {
  const trace = join(cwd, `trace-${Date.now()}.jsonl`);
  const run = await runCli([...args, '--json', '--trace', trace], { cwd, env });
  expect(run.stderr, run.stderr).not.toMatch(/^error:/m);
  return { run, plan: JSON.parse(run.stdout) as PlanResult, operations: readTrace(trace).map((call) => call.operation) };
}

/** The changes up would make: every one but keep and none. */
function changing(plan: PlanResult): Array<{ step: string; action: string }> {
  return plan.changes.filter((change) => CHANGING_ACTIONS.has(change.action)).map(({ step, action }) => ({ step, action }));
}

describe('plan against the emulator', () => {
  it('on an empty account: every resource a create (the network and the given image adopted), exit 4, read calls only, nothing written', async () => {
    const STACK = uniqueStack('e2e');
    const UP_OPTIONS = upOptions(STACK);
    const cwd = tempDir();
    const env = emulatorEnv(emulator().endpoint);
    // An empty account: not even the service-linked role an earlier test's up created.
    await emulator().reset();

    const { run, plan, operations } = await planned(['plan', ...UP_OPTIONS], cwd, env);

    expect(run.code).toBe(4);
    expect(plan).toMatchObject({ stack: STACK, region: 'us-east-1', account: '123456789012', drift: true, state: { exists: false } });
    const actions = Object.fromEntries(plan.changes.map((change) => [change.step, change.action]));
    // Not made by a plain `up` of a rolling stack: the native strategies' resources and autoscaling are 'none'.
    const notMadeByUp = ['docker', 'network', 'repository', 'image', 'autoScaling', 'alternateTargetGroup', 'listenerRule', 'infrastructureRole'];
    expect({ docker: actions.docker, network: actions.network, repository: actions.repository, image: actions.image }).toEqual({ docker: 'none', network: 'adopt', repository: 'none', image: 'adopt' });
    for (const step of ['autoScaling', 'alternateTargetGroup', 'listenerRule', 'infrastructureRole']) expect(actions[step], step).toBe('none');
    const made = plan.changes.filter((change) => !notMadeByUp.includes(change.step));
    expect(made.length).toBeGreaterThanOrEqual(13);
    for (const change of made) expect(change.action, `${change.step}: ${change.resource}`).toBe('create');
    // The estimate of the stack it would leave: 2 default tasks, in the zones the network plan chose.
    expect(plan.cost.perHour).toBeGreaterThan(0.05);
    expect(plan.cost.perMonth).toBeCloseTo(plan.cost.perHour * 730, 6);
    expect(plan.cost.prices).toEqual({ region: 'us-east-1', takenOn: expect.stringMatching(/^\d{4}-\d{2}$/) });
    expect(plan.cost.basis).toMatch(/^estimate at us-east-1 on-demand prices of/);

    expect(operations.length).toBeGreaterThan(5);
    expect(operations.filter(isMutatingOperation)).toEqual([]);
    expect(existsSync(join(cwd, '.ecs-ha')), 'no state folder, no state file, no lock').toBe(false);
  });

  it('after up: everything kept, exit 0, the state file untouched; then exactly what was changed behind its back', async () => {
    const STACK = uniqueStack('e2e');
    const UP_OPTIONS = upOptions(STACK);
    const cwd = tempDir();
    const env = emulatorEnv(emulator().endpoint);
    const up = await runCli(['up', ...UP_OPTIONS, '--no-wait'], { cwd, env });
    expect(up.code, up.stderr).toBe(0);
    const statePath = join(cwd, '.ecs-ha', `${STACK}.json`);
    const stateBefore = readFileSync(statePath, 'utf8');
    const modifiedBefore = statSync(statePath).mtimeMs;

    const unchanged = await planned(['plan', ...UP_OPTIONS], cwd, env);
    expect(unchanged.run.code).toBe(0);
    expect(unchanged.plan.drift).toBe(false);
    expect(changing(unchanged.plan)).toEqual([]);
    expect(unchanged.plan.changes.find((change) => change.step === 'service')).toMatchObject({ action: 'keep', detail: '2 tasks' });
    expect(unchanged.operations.filter(isMutatingOperation)).toEqual([]);
    expect(readFileSync(statePath, 'utf8')).toBe(stateBefore);
    expect(statSync(statePath).mtimeMs).toBe(modifiedBefore);
    expect(existsSync(join(cwd, '.ecs-ha', `${STACK}.lock`))).toBe(false);

    // A new count: the service is updated, nothing else.
    const scaled = await planned(['plan', ...UP_OPTIONS, '--count', '3'], cwd, env);
    expect(scaled.run.code).toBe(4);
    expect(changing(scaled.plan)).toEqual([{ step: 'service', action: 'update' }]);
    expect(scaled.plan.changes.find((change) => change.step === 'service')?.detail).toBe('desired count 2 → 3');
    expect(scaled.plan.cost.perHour).toBeGreaterThan(unchanged.plan.cost.perHour);
    expect(scaled.operations.filter(isMutatingOperation)).toEqual([]);

    // `up --dry-run` is the same plan.
    const dryRun = await planned(['up', '--dry-run', ...UP_OPTIONS, '--count', '3'], cwd, env);
    expect(dryRun.run.code).toBe(4);
    expect(dryRun.plan.changes).toEqual(scaled.plan.changes);
    expect(dryRun.operations.filter(isMutatingOperation)).toEqual([]);

    // The log group deleted behind the tool's back: only it is to create again (the task definition names it, not an ID).
    await emulatorClients(emulator().endpoint).logs.send(new DeleteLogGroupCommand({ logGroupName: `/ecs/${STACK}` }));
    const drifted = await planned(['plan', ...UP_OPTIONS], cwd, env);
    expect(drifted.run.code).toBe(4);
    expect(changing(drifted.plan)).toEqual([{ step: 'logGroup', action: 'create' }]);
    expect(readFileSync(statePath, 'utf8')).toBe(stateBefore);

    // up makes it so; the plan then finds nothing to change.
    expect((await runCli(['up', ...UP_OPTIONS, '--no-wait'], { cwd, env })).code).toBe(0);
    expect((await runCli(['plan', ...UP_OPTIONS], { cwd, env })).code).toBe(0);
  });

  it('prints one line per resource, the counts, and the cost per hour and per month labelled an estimate', async () => {
    const STACK = uniqueStack('e2e');
    const UP_OPTIONS = upOptions(STACK);
    const cwd = tempDir();
    // The counts are a new account's (no service-linked role yet).
    await emulator().reset();
    const run = await runCli(['plan', ...UP_OPTIONS], { cwd, env: emulatorEnv(emulator().endpoint) });

    expect(run.code).toBe(4);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`Plan for stack "${STACK}" in us-east-1 (account 123456789012): what \`ecs-ha up\` would do, found with read calls only`);
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^ {2}create {3}log group /ecs/${STACK} +retention 7 days$`)));
    expect(lines).toContain('Changes: 13 create, 2 adopt, 6 none');
    expect(lines).toContainEqual(expect.stringMatching(/^Cost: {4}once up, the stack costs about \$0\.\d{3}\/hour \(\$\d+\.\d{2}\/month\): estimate at us-east-1 on-demand prices of \d{4}-\d{2}/));
  });

  it('validates the options as up does: exit 2 before any AWS call', async () => {
    const STACK = uniqueStack('e2e');
    const cwd = tempDir();
    const trace = join(cwd, 'trace.jsonl');
    const run = await runCli(['plan', '--stack', STACK, '--count', '0', '--trace', trace], { cwd, env: emulatorEnv(emulator().endpoint) });

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('invalid --count "0"');
    expect(readTrace(trace)).toEqual([]);
  });

  it('a --vpc-id that does not exist is exit 2, found by a read as up finds it', async () => {
    const UP_OPTIONS = upOptions(uniqueStack('e2e'));
    const cwd = tempDir();
    const env = emulatorEnv(emulator().endpoint);
    const run = await runCli(['plan', ...UP_OPTIONS, '--vpc-id', 'vpc-0123456789abcdef0'], { cwd, env });

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('invalid --vpc-id "vpc-0123456789abcdef0": no such VPC in us-east-1');
  });
});

/** The throwaway emulators' folders made since `before`. */
const throwawayFolders = (before: Set<string>): string[] => readdirSync(tmpdir()).filter((name) => name.startsWith('ecs-ha-plan-') && !before.has(name));

/** Processes of a throwaway emulator: the plane names its folder on its command line, its moto is its child. */
function throwawayPlanes(): string[] {
  return readdirSync('/proc')
    .filter((pid) => /^\d+$/.test(pid))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(`${tmpdir()}/ecs-ha-plan-`);
      } catch {
        return false; // gone meanwhile
      }
    });
}

async function eventually(check: () => boolean, timeoutMs: number): Promise<boolean> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await new Promise((done) => setTimeout(done, 100))) if (check()) return true;
  return check();
}

describe('plan --local', () => {
  it('before any up --local: planned against a fresh emulator it stops again; every resource a create, exit 4, read calls only, nothing left behind', async () => {
    const cwd = tempDir();
    const env = localEnv();
    const before = new Set(readdirSync(tmpdir()).filter((name) => name.startsWith('ecs-ha-plan-')));
    const { run, plan, operations } = await planned(['plan', '--local', '--stack', 'planlocal'], cwd, env);

    expect(run.code, run.stderr).toBe(4);
    expect(run.stderr).toContain('no local AWS emulator runs for stack "planlocal": planning against a fresh one, stopped again after the plan');
    expect(plan).toMatchObject({ stack: 'planlocal', region: 'us-east-1', account: '123456789012', drift: true, state: { exists: false } });
    // Everything a create, but the default VPC (adopted); nothing to update or delete in an emulator that holds nothing.
    expect(changing(plan).filter((change) => change.action !== 'create')).toEqual([{ step: 'network', action: 'adopt' }]);
    for (const step of ['repository', 'cluster', 'loadBalancer', 'targetGroup', 'namespace', 'taskDefinition', 'service']) {
      expect(plan.changes.find((change) => change.step === step)?.action, step).toBe('create');
    }
    expect(plan.cost.perHour).toBeGreaterThan(0.05);
    expect(operations.length).toBeGreaterThan(10);
    expect(operations.filter(isMutatingOperation)).toEqual([]);
    // Nothing is left: no state folder, no emulator of the stack, no folder of the throwaway one.
    expect(existsSync(join(cwd, '.ecs-ha'))).toBe(false);
    expect(throwawayFolders(before)).toEqual([]);
    expect(throwawayPlanes()).toEqual([]);
    const status = await runCli(['status', '--local', '--stack', 'planlocal'], { cwd, env });
    expect(status.code).toBe(1);
    expect(status.stderr).toContain('the local AWS emulator for stack "planlocal" is not running');
  });

  it('killed (SIGKILL) while it plans: the throwaway emulator stops itself and removes its folder', async () => {
    const cwd = tempDir();
    const before = new Set(readdirSync(tmpdir()).filter((name) => name.startsWith('ecs-ha-plan-')));
    const killed = await runCliInterrupted(['plan', '--local', '--stack', 'plankilled'], { cwd, env: localEnv(), trace: join(cwd, 'trace.jsonl'), afterCalls: 3, signal: 'SIGKILL' });
    expect(killed.signal).toBe('SIGKILL');
    expect(killed.callsBeforeSignal).toBeGreaterThanOrEqual(3);
    // The plane looks for its owner every second.
    expect(await eventually(() => throwawayPlanes().length === 0 && throwawayFolders(before).length === 0, 15_000), throwawayPlanes().join(' ')).toBe(true);
  });

  it('with a state file of an emulator that has stopped: exit 1, says to run down --local first, starts nothing', async () => {
    const cwd = tempDir();
    const env = localEnv();
    mkdirSync(join(cwd, '.ecs-ha'), { mode: 0o700 });
    const file = join(cwd, '.ecs-ha', 'gone.json');
    writeFileSync(file, JSON.stringify({ schemaVersion: 1, stack: 'gone', account: '123456789012', region: 'us-east-1', updatedAt: '2026-01-01T00:00:00.000Z', resources: {} }), { mode: 0o600 });
    const run = await runCli(['plan', '--local', '--stack', 'gone'], { cwd, env });

    expect(run.code).toBe(1);
    expect(run.stderr).toContain('the local AWS emulator of stack "gone" is not running: the state file .ecs-ha/gone.json points at resources it held, which are gone with it');
    expect(run.stderr).toContain('hint: run `ecs-ha down --local --stack gone` (it discards that state), then `ecs-ha up --local --stack gone`');
    expect(existsSync(join(cwd, '.ecs-ha', 'gone.emulator.json'))).toBe(false);
  });
});
