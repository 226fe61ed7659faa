/**
 * Nothing is created before the environment is known to be ready: Docker (unless --image) and a
 * VPC with public subnets in two zones are checked first, so a missing one exits 3 having made no
 * change (asserted through the trace). Credentials and region come even earlier (cli.test.ts).
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isMutatingOperation } from '../../src/aws/clients.js';
import { CreateSubnetCommand, CreateVpcCommand } from '@aws-sdk/client-ec2';
import { emulatorEnv, emulatorPerFile, readTrace, runCli, tempDir } from './harness.js';
import { emulatorClients } from './inventory.js';

const emulator = emulatorPerFile();

describe('the environment is checked before the first change', () => {
  it('without Docker, up exits 3 and has created nothing', async () => {
    const cwd = tempDir();
    const trace = join(cwd, 'trace.jsonl');
    // No docker command on the PATH (the CLI itself runs from process.execPath).
    const env = { ...emulatorEnv(emulator().endpoint), PATH: join(cwd, 'no-bin') };
    const up = await runCli(['up', '--stack', 'nodocker', '--trace', trace], { cwd, env });
    expect(up.code, up.stderr).toBe(3);
    expect(up.stderr).toContain('Docker is needed to build the app image, but the docker command was not found');
    const calls = readTrace(trace);
    expect(calls.length).toBeGreaterThan(0); // the read-only checks and lookups ran
    expect(calls.filter((c) => isMutatingOperation(c.operation)).map((c) => c.operation)).toEqual([]);
  });

  it('with a VPC whose subnets are in one zone only, up exits 3 and has created nothing', async () => {
    const aws = emulatorClients(emulator().endpoint);
    const { Vpc } = await aws.ec2.send(new CreateVpcCommand({ CidrBlock: '10.9.0.0/16' }));
    await aws.ec2.send(new CreateSubnetCommand({ VpcId: Vpc!.VpcId!, CidrBlock: '10.9.1.0/24', AvailabilityZone: 'us-east-1a' }));
    const cwd = tempDir();
    const trace = join(cwd, 'trace.jsonl');
    const up = await runCli(['up', '--stack', 'onezone', '--image', 'example/app:1', '--vpc-id', Vpc!.VpcId!, '--trace', trace], { cwd, env: emulatorEnv(emulator().endpoint) });
    expect(up.code, up.stderr).toBe(3);
    expect(up.stderr).toContain('fewer than two');
    expect(calls(trace).filter((c) => isMutatingOperation(c.operation)).map((c) => c.operation)).toEqual([]);
  });

  it('with a VPC that does not exist, up refuses the input (exit 2) and has created nothing', async () => {
    const cwd = tempDir();
    const trace = join(cwd, 'trace.jsonl');
    const up = await runCli(['up', '--stack', 'novpc', '--image', 'example/app:1', '--vpc-id', 'vpc-0123456789abcdef0', '--trace', trace], { cwd, env: emulatorEnv(emulator().endpoint) });
    expect(up.code, up.stderr).toBe(2);
    expect(up.stderr).toContain('no such VPC');
    expect(calls(trace).filter((c) => isMutatingOperation(c.operation)).map((c) => c.operation)).toEqual([]);
  });
});

function calls(trace: string) {
  return readTrace(trace);
}
