import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AwsClients } from '../../src/aws/clients.js';
import type { Clock } from '../../src/clock.js';
import { resourceNames, type StackConfig } from '../../src/config.js';
import type { StepContext } from '../../src/engine/step.js';
import type { CommandRunner, RunOptions, RunResult } from '../../src/process/runner.js';
import { StateStore } from '../../src/state/store.js';

export const ACCOUNT = '123456789012';
export const REGION = 'us-east-1';

/** A clock whose sleeps return at once but advance its time, so waits and timeouts are testable. */
export function fakeClock(start = 1_000_000): Clock & { slept: number[] } {
  let now = start;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
  };
}

export interface RecordedCommand {
  command: string;
  args: string[];
  input?: string;
}

/** A command runner that records what it was asked to run and answers from a script. */
export function scriptedRunner(answer: (command: string, args: string[]) => Partial<RunResult> | Error = () => ({})): CommandRunner & {
  commands: RecordedCommand[];
} {
  const commands: RecordedCommand[] = [];
  return {
    commands,
    async run(command: string, args: string[], options: RunOptions = {}) {
      commands.push({ command, args, ...(options.input !== undefined ? { input: options.input } : {}) });
      const result = answer(command, args);
      if (result instanceof Error) throw result;
      return { exitCode: 0, stdout: '', stderr: '', ...result };
    },
  };
}

export function testConfig(overrides: Partial<StackConfig> = {}): StackConfig {
  return {
    stack: 'demo',
    count: 2,
    cpu: 256,
    memory: 512,
    arch: 'x86_64',
    appVersion: '1.0',
    appPort: 8080,
    listenerPort: 80,
    logRetentionDays: 7,
    appDir: join(process.cwd(), 'container'),
    skipDocker: false,
    ...overrides,
  };
}

export interface TestContext extends StepContext {
  notices: string[];
  progressLines: string[];
  clock: Clock & { slept: number[] };
  runner: CommandRunner & { commands: RecordedCommand[] };
}

/** A step context over a fresh state directory; AWS clients are real classes, to be mocked with aws-sdk-client-mock. */
export function testContext(options: { config?: Partial<StackConfig>; runner?: TestContext['runner']; region?: string } = {}): TestContext {
  const config = testConfig(options.config);
  const dir = mkdtempSync(join(tmpdir(), 'ecs-ha-test-'));
  const notices: string[] = [];
  const progressLines: string[] = [];
  return {
    config,
    names: resourceNames(config.stack),
    aws: new AwsClients({ region: options.region ?? REGION, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 }),
    state: StateStore.open(dir, config.stack, ACCOUNT, options.region ?? REGION),
    clock: fakeClock(),
    runner: options.runner ?? scriptedRunner(),
    waitTimeoutMs: 600_000,
    notices,
    progressLines,
    progress: (message) => progressLines.push(message),
    notice: (message) => notices.push(message),
  };
}

/** An AWS SDK-shaped error, as the SDK would throw it. */
export function awsError(name: string, message = name, status = 400): Error {
  return Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode: status } });
}
