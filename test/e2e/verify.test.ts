/**
 * `ecs-ha verify` as a user runs it, against a stack built by `up` in the moto emulator. moto runs
 * no containers; with MOTO_ECS_SERVICE_RUNNING=2 its services report 2 running and one COMPLETED
 * deployment, so the control-plane checks can pass while the container checks must say SKIP.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { emulatorEnv, emulatorPerFile, PREBUILT_IMAGE, readTrace, runCli, startMoto, tempDir, uniqueStack } from './harness.js';

const IMAGE = PREBUILT_IMAGE;
const CONTROL_PLANE = ['cluster active', 'service active', 'service steady', 'listener'];
const NEEDS_CONTAINERS = ['tasks across AZs', 'targets healthy', 'cloud map', 'url answers', 'url across tasks', 'url across AZs'];

const emulator = emulatorPerFile({ env: { MOTO_ECS_SERVICE_RUNNING: '2' } });


interface CheckJson {
  name: string;
  status: string;
  evidence: string;
}

describe('verify against the emulator', () => {
  it('passes the control-plane checks and shows every container check as SKIP with the reason', async () => {
    const STACK = uniqueStack('e2e-verify');
    const cwd = tempDir();
    const env = emulatorEnv(emulator().endpoint);
    const up = await runCli(['up', '--stack', STACK, '--image', IMAGE, '--no-wait'], { cwd, env });
    expect(up.stderr).not.toMatch(/error:/);
    expect(up.code).toBe(0);

    const trace = join(cwd, 'verify-trace.jsonl');
    const verify = await runCli(['verify', '--stack', STACK, '--json', '--trace', trace], { cwd, env });
    expect(verify.stderr).not.toMatch(/error:/);
    expect(verify.code).toBe(0);
    const result = JSON.parse(verify.stdout) as { stack: string; region: string; url: string; passed: boolean; checks: CheckJson[] };
    expect(result).toMatchObject({ stack: STACK, region: 'us-east-1', passed: true });
    expect(result.url).toMatch(new RegExp(`^http://${STACK}-alb-.+`));
    expect(result.checks.map((c) => c.name)).toEqual([...CONTROL_PLANE, 'autoscaling', ...NEEDS_CONTAINERS]);
    expect(result.checks.find((c) => c.name === 'autoscaling')).toMatchObject({ status: 'SKIP', evidence: expect.stringContaining('autoscaling is off') });
    const check = (name: string) => result.checks.find((c) => c.name === name)!;
    for (const name of CONTROL_PLANE) expect(check(name).status, `${name}: ${check(name).evidence}`).toBe('OK');
    expect(check('service steady').evidence).toBe('2/2 running, 0 pending, 1 deployment COMPLETED');
    expect(check('listener').evidence).toMatch(new RegExp(`^listener HTTP:80 \\(\\w+\\) forwards to target group ${STACK}-tg$`));
    for (const name of NEEDS_CONTAINERS) {
      expect(check(name), name).toMatchObject({ status: 'SKIP', evidence: `the endpoint ${emulator().endpoint} lists no task for the service: it runs no containers` });
    }

    // What the endpoint lists decides (both task lists are empty), then only the control-plane reads: all reads.
    const calls = readTrace(trace);
    expect(calls.map((c) => `${c.service}:${c.operation}`).sort()).toEqual([
      'ECS:DescribeClusters',
      'ECS:DescribeServices',
      'ECS:ListTasks',
      'ECS:ListTasks',
      'ElasticLoadBalancingV2:DescribeListeners',
      'STS:GetCallerIdentity',
    ]);

    const human = await runCli(['verify', '--stack', STACK], { cwd, env });
    expect(human.code).toBe(0);
    const lines = human.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`Stack "${STACK}" in us-east-1: ${result.url}`);
    expect(lines[3]).toBe('OK    service steady    2/2 running, 0 pending, 1 deployment COMPLETED');
    expect(lines.at(-1)).toBe('verify: 4 OK, 0 FAIL, 7 SKIP');

    const down = await runCli(['down', '--stack', STACK], { cwd, env });
    expect(down.code).toBe(0);
  });

  it('exits 1 with the hint to run up when the stack has no state file', async () => {
    const cwd = tempDir();
    const verify = await runCli(['verify', '--stack', 'nothing-here'], { cwd, env: emulatorEnv(emulator().endpoint) });
    expect(verify.code).toBe(1);
    expect(verify.stdout).toBe('');
    expect(verify.stderr).toContain('error: there is no state file for stack "nothing-here"');
    expect(verify.stderr).toContain('hint: run `ecs-ha up --stack nothing-here` first');
  });

  it('exits 1 when the service is not steady: moto reports a deployment in progress without MOTO_ECS_SERVICE_RUNNING', async () => {
    const STACK = uniqueStack('e2e-verify');
    const plain = await startMoto();
    try {
      const cwd = tempDir();
      const env = emulatorEnv(plain.endpoint);
      expect((await runCli(['up', '--stack', STACK, '--image', IMAGE, '--no-wait'], { cwd, env })).code).toBe(0);

      const verify = await runCli(['verify', '--stack', STACK], { cwd, env });
      expect(verify.code).toBe(1);
      expect(verify.stdout).toContain('FAIL  service steady    0/2 running, 2 pending, 1 deployment IN_PROGRESS');
      expect(verify.stdout).toContain('verify: 3 OK, 1 FAIL, 7 SKIP');
      expect(verify.stderr).toContain('error: 1 of 11 checks failed: service steady');
    } finally {
      await plain.stop();
    }
  });
});
