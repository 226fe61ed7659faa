import { Command, Option } from 'commander';
import { EcsHaError, ExitCode } from './errors.js';
import { suggestLocal } from './ui/hints.js';
import type { DownCliOptions } from './commands/down.js';
import type { ChaosCliOptions } from './commands/chaos.js';
import type { UpOptions } from './commands/up.js';
import type { VerifyCliOptions } from './commands/verify.js';

const VERSION = '0.1.0';

/**
 * A whole-number option: its default shows as a number in --help (`default: 2`), and the value
 * stays the string the command's own parser validates, as for a value typed by the user.
 */
function numeric(flags: string, description: string, defaultValue: number): Option {
  return new Option(flags, description).default(String(defaultValue), String(defaultValue));
}

const COMMON_OPTIONS_HELP = `
Options every command takes (see \`ecs-ha <command> --help\`):
  --stack <name>        stack name (default: ecs-ha)
  --local               run on this machine, no AWS account: moto and the local data plane
  --region, --profile   AWS region and profile (default: AWS_REGION / AWS_PROFILE)
  --endpoint-url <url>  send every AWS call to this endpoint
  --state-dir <dir>     where the state file is kept (default: .ecs-ha)
  --trace <file>        append one JSON line per AWS call to this file
  --json                the result (or the error) as one JSON document on stdout
  --debug               on an error, also print its stack trace

Examples:
  ecs-ha up --local                    the whole stack on this machine, no AWS account needed
  ecs-ha chaos --kill-one --local      stop a task while probing the URL; report what a user saw
  ecs-ha up --count 3 && ecs-ha verify on your AWS account: three tasks, then prove them healthy`;

/** Options every command accepts after its name: `ecs-ha up --stack demo`. */
function withCommonOptions(command: Command): Command {
  return command
    .option('--stack <name>', 'stack name: lowercase letters, digits, hyphens; at most 28 characters', 'ecs-ha')
    .option('--region <region>', 'AWS region (default: AWS_REGION or your profile\'s region)')
    .option('--profile <name>', 'AWS profile from your AWS config (default: AWS_PROFILE or "default")')
    .option('--endpoint-url <url>', 'send every AWS call to this endpoint (default: AWS_ENDPOINT_URL)')
    .option('--local', 'run on this machine with no AWS account: the moto emulator and the local data plane (real app processes)')
    .option('--state-dir <dir>', 'where the state file is kept', '.ecs-ha')
    .option('--trace <file>', 'append one JSON line per AWS call to this file (default: ECS_HA_TRACE)')
    .option('--json', 'print the result (or the error) as one JSON document on stdout')
    .option('--debug', 'on an error, also print its stack trace (or set ECS_HA_DEBUG=1)');
}

/**
 * `up`'s own options. `plan` takes the very same, so that `ecs-ha plan …` previews `ecs-ha up …`
 * with the same command line.
 */
function withUpOptions(command: Command): Command {
  return withStrategySettings(command)
    // The default is a new stack's: a running service keeps its count (set by `scale` or the autoscaler) unless --count is given.
    .addOption(numeric('--count <n>', 'number of tasks (1 to 100; 2 or more for high availability); a running service keeps its count unless this is given', 2))
    .addOption(numeric('--cpu <units>', 'Fargate CPU units: 256, 512, 1024, 2048, 4096, 8192, 16384', 256))
    .addOption(numeric('--memory <mib>', 'Fargate memory in MiB, a valid pair with --cpu', 512))
    .addOption(new Option('--arch <arch>', 'CPU architecture of the tasks and the image').choices(['amd64', 'arm64']).default('amd64'))
    .option('--image <uri>', 'use this prebuilt image and skip Docker')
    .option('--execution-role <name|arn>', 'adopt this existing task execution role (never deleted by down)')
    .option('--vpc-id <id>', 'VPC to use (default: the default VPC)')
    .option('--app-version <version>', 'APP_VERSION shown by the app (default: the version the stack runs; 1.0 for a new stack)')
    .option('--app-dir <dir>', 'folder with the app\'s Dockerfile (default: the bundled Flask app)')
    .addOption(numeric('--log-retention <days>', 'CloudWatch Logs retention in days', 7))
    .option('--no-wait', 'return once every resource exists, without waiting for healthy tasks')
    .addOption(numeric('--timeout <seconds>', 'give up waiting for AWS after this long', 900))
    .option('--concurrency <n>', 'at most this many steps at once (default: as many as the graph allows)')
    .option('--autoscale <min:max>', 'keep the task count between MIN and MAX (1 ≤ MIN ≤ MAX ≤ 100; MIN 2 or more for high availability) with a target-tracking policy, or "off" to remove it (default: the stack\'s autoscaling as it is)')
    .option('--autoscale-cpu <percent>', 'with --autoscale: hold average CPU at this percentage, 1 to 100 (default: 60, or the stack\'s target)')
    .option('--autoscale-requests <n>', 'with --autoscale: hold the load balancer\'s requests per task at this many per minute, instead of CPU')
    .addOption(strategyOption('how the service deploys new versions (default: the stack\'s strategy; rolling for a new stack); blue-green, linear and canary add a second target group, a listener rule and an ECS infrastructure role'))
    .addHelpText('after', STRATEGY_OPTIONS_HELP);
}

/** `--strategy` as `up`, `plan` and `deploy` take it. */
function strategyOption(description: string): Option {
  return new Option('--strategy <strategy>', description).choices(['rolling', 'blue-green', 'linear', 'canary']);
}

/** The strategies' settings, shared by up/plan and deploy; validated (ECS's ranges) before any AWS call. */
function withStrategySettings(command: Command): Command {
  return command
    .option('--bake-minutes <n>', 'blue-green, linear, canary: minutes both revisions keep running after all traffic moved, 0 to 1440 (default: 2)')
    .option('--canary-percent <p>', 'canary: percent of traffic the new revision gets first, 0.1 to 100 in steps of 0.1 (default: 10)')
    .option('--canary-bake-minutes <n>', 'canary: minutes before the rest of the traffic moves, 0 to 1440 (default: 3)')
    .option('--step-percent <p>', 'linear: percent of traffic moved per step, 3 to 100 in steps of 0.1 (default: 25)')
    .option('--step-bake-minutes <n>', 'linear: minutes between steps, 0 to 1440 (default: 2)');
}

const STRATEGY_OPTIONS_HELP = `
Strategies: rolling replaces tasks a few at a time in one target group; blue-green starts the new
revision beside the old one and moves all traffic at once; linear moves it in equal steps; canary
moves --canary-percent first, the rest after --canary-bake-minutes. ECS rolls a failed native
deployment back by moving the traffic back.`;

/** `up`'s options as parsed, with whether --count was given: only then is a running service set to it. */
function upOptionsOf(options: UpOptions, command: Command): UpOptions {
  return { ...options, countGiven: command.getOptionValueSource('count') !== 'default' };
}

/** `ecs-ha plan` and `up --dry-run`: exit 4 (drift) when up would change something, so that scripts can test for it. */
async function planCommand(options: UpOptions): Promise<void> {
  const { planAction } = await import('./commands/plan.js');
  if ((await planAction(options)).drift) process.exitCode = ExitCode.drift;
}

export function buildProgram(): Command {
  const program = new Command('ecs-ha')
    .description('Stand up a highly available ECS Fargate service behind an ALB, prove it survives failures, and tear it down.')
    .version(VERSION)
    .showHelpAfterError()
    .showSuggestionAfterError()
    .addHelpText('after', COMMON_OPTIONS_HELP)
    .configureOutput({ outputError: (text, write) => write(text) })
    .exitOverride();

  withCommonOptions(
    withUpOptions(
      program
        .command('up')
        .description('create or adopt every resource of the stack, in dependency order, then wait until the service is healthy'),
    ).option('--dry-run', 'change nothing: show what up would do and cost, as `ecs-ha plan` does (exit 4 when something would change)'),
  ).action(async (options: UpOptions, command: Command) => {
    if (options.dryRun) return planCommand(upOptionsOf(options, command));
    const { upAction } = await import('./commands/up.js');
    await upAction(upOptionsOf(options, command));
  });

  withCommonOptions(
    program
      .command('down')
      .description('remove exactly what `up` created, in reverse order; adopted resources are kept')
      .option('-y, --yes', 'do not ask for confirmation (it is never asked when stdin is not a terminal)')
      .addOption(numeric('--timeout <seconds>', 'give up waiting for AWS (ENI release, deletions) after this long', 1800))
      .option('--concurrency <n>', 'at most this many steps at once (default: as many as the graph allows)'),
  ).action(async (options: DownCliOptions) => {
    const { downAction } = await import('./commands/down.js');
    await downAction(options);
  });

  withCommonOptions(
    program
      .command('verify')
      .description('prove the service is healthy and load-balanced across tasks and Availability Zones; renders each check OK / FAIL / SKIP')
      .addOption(numeric('--requests <n>', 'requests to send through the load balancer URL', 20))
      .addOption(numeric('--timeout <seconds>', 'how long to wait for the load balancer DNS name to resolve and answer', 120)),
  ).action(async (options: VerifyCliOptions) => {
    const { verifyAction } = await import('./commands/verify.js');
    await verifyAction(options);
  });

  withCommonOptions(
    program
      .command('chaos')
      .description('stop a task (or every task in one AZ) while probing the URL; report the recovery timeline and what a user saw')
      .option('--kill-one', 'stop one running task (random, or --task)')
      .option('--kill-az <az>', 'take this Availability Zone away: its subnets out of the service, then stop every task in it at once')
      .option('--hold <seconds>', 'with --kill-az: keep the zone out this long after the recovery before giving it back (0 to 3600; default: 0)')
      .option('--no-restore', 'with --kill-az: leave the zone out afterwards (`ecs-ha up` gives it back)')
      .option('--task <id>', 'with --kill-one: the task to stop (ID or ARN)')
      .addOption(numeric('--rps <n>', 'probe requests per second', 10))
      .addOption(numeric('--baseline <seconds>', 'probe this long before stopping anything', 5))
      .addOption(numeric('--settle <seconds>', 'keep probing this long after the service has recovered', 15))
      .addOption(numeric('--timeout <seconds>', 'give up waiting for recovery after this long', 600))
      .addOption(numeric('--max-failures <n>', 'exit 1 when more probe requests than this fail', 0))
      .option('--force', 'run even when the service is not steady or has fewer than two tasks'),
  ).action(async (options: ChaosCliOptions) => {
    const { chaosAction } = await import('./commands/chaos.js');
    await chaosAction(options);
  });

  withCommonOptions(
    program
      .command('status')
      .description('the stack on one screen: URL, service and deployments, tasks per AZ, targets, Cloud Map, autoscaling, events, cost; read calls only')
      .option('--watch', 'redraw every --interval seconds until Ctrl-C')
      .addOption(numeric('--interval <seconds>', 'with --watch: seconds between refreshes (1 to 3600)', 5)),
  ).action(async (options: import('./commands/status.js').StatusCliOptions) => {
    const { statusAction } = await import('./commands/status.js');
    await statusAction(options);
  });

  withCommonOptions(
    program
      .command('scale')
      .description('set the number of tasks, wait until the service is steady and every target healthy, and report the spread over AZs')
      .argument('<N>', 'the desired count: 1 to 100 (2 or more for high availability), within the autoscaling range when autoscaling is on')
      .addOption(numeric('--timeout <seconds>', 'give up waiting for AWS after this long', 900)),
  ).action(async (count: string, options: import('./commands/scale.js').ScaleCliOptions) => {
    const { scaleAction } = await import('./commands/scale.js');
    await scaleAction(count, options);
  });

  withCommonOptions(
    program
      .command('logs')
      .description('print the app\'s log lines from the stack\'s log group (/ecs/<stack>), newest last, each prefixed by its task (short ID) and Availability Zone')
      .option('--since <when>', 'show lines from this long ago (30s, 10m, 1h, 2d, 1w) or from this time (ISO 8601 such as 2026-05-01T12:00:00Z; UTC unless it names an offset)', '10m')
      .option('--task <id>', 'only this task\'s lines: its ID, the short ID logs prints (its first 8 or more characters), or its ARN')
      .option('-f, --follow', 'then print new lines as they arrive, until Ctrl-C (exit 130): CloudWatch Logs live tail where the endpoint has it, otherwise polling every 2 s')
      .addHelpText('after', `
With --json, each line is one JSON object (not one document):
  {"time":"<ISO 8601>","task":"<task ID>","az":"<AZ or null>","container":"app","stream":"ecs/app/<task ID>","message":"…"}
Without it: <time> <short task ID> <AZ> <message>; the AZ is ? for a task ECS no longer knows.

Examples:
  ecs-ha logs --local                      the last 10 minutes of the local stack's app output
  ecs-ha logs --since 1h --task 0f1e2d3c   one task's lines of the last hour
  ecs-ha logs --follow --json | jq .message`),
  ).action(async (options: import('./commands/logs.js').LogsCliOptions) => {
    const { logsAction } = await import('./commands/logs.js');
    await logsAction(options);
  });

  program
    .command('report')
    .description('list the reports of chaos and deploy runs, or (re)write the HTML page of one; makes no AWS call')
    .argument('[file]', 'a JSON report (from <state-dir>/reports/): write its HTML page beside it and print the page\'s path')
    .option('--stack <name>', 'list only this stack\'s reports (default: every stack\'s)')
    .option('--state-dir <dir>', 'the folder whose reports/ are listed', '.ecs-ha')
    .option('--json', 'print the list (or the paths written) as JSON')
    // Accepted and ignored: hints in --local mode add --local to every `ecs-ha …` they suggest.
    .addOption(new Option('--local').hideHelp())
    .action(async (file: string | undefined, options: import('./commands/report.js').ReportCliOptions) => {
      const { reportAction } = await import('./commands/report.js');
      await reportAction(file, options);
    });

  withCommonOptions(
    withStrategySettings(program
      .command('deploy'))
      .description('roll a new version of the app out with the stack\'s strategy (rolling, blue-green, linear, canary) while probing the URL; report which version answered when and what a user saw')
      .option('--app-version <version>', 'APP_VERSION of the new version (default: the version the stack runs)')
      .option('--app-dir <dir>', 'build the new image from this folder (default: the folder the running image was built from)')
      .option('--image <uri>', 'deploy this prebuilt image (no Docker)')
      .addOption(strategyOption('deployment strategy (default: the stack\'s; rolling if none); blue-green, linear and canary need a stack built with `ecs-ha up --strategy S`'))
      .addOption(numeric('--rps <n>', 'probe requests per second', 10))
      .addOption(numeric('--baseline <seconds>', 'probe this long before updating the service', 5))
      .addOption(numeric('--settle <seconds>', 'keep probing this long after the deployment finished', 15))
      .addOption(numeric('--timeout <seconds>', 'give up following the deployment this long after the service was updated', 900))
      .addOption(numeric('--max-failures <n>', 'exit 1 when more probe requests than this fail', 0)),
  ).action(async (options: import('./commands/deploy.js').DeployCliOptions) => {
    const { deployAction } = await import('./commands/deploy.js');
    await deployAction(options);
  });

  withCommonOptions(
    program
      .command('rollback')
      .description('go back to the previous task definition revision (rolling) while probing the URL; measured as deploy is')
      .addOption(numeric('--rps <n>', 'probe requests per second', 10))
      .addOption(numeric('--baseline <seconds>', 'probe this long before updating the service', 5))
      .addOption(numeric('--settle <seconds>', 'keep probing this long after the rollback finished', 15))
      .addOption(numeric('--timeout <seconds>', 'give up following the rollback this long after the service was updated', 900))
      .addOption(numeric('--max-failures <n>', 'exit 1 when more probe requests than this fail', 0)),
  ).action(async (options: import('./commands/rollback.js').RollbackCliOptions) => {
    const { rollbackAction } = await import('./commands/rollback.js');
    await rollbackAction(options);
  });

  withCommonOptions(
    withUpOptions(
      program
        .command('plan')
        .description('what `up` with the same options would create, update, adopt or keep, resource by resource, and what the stack would cost; read calls only, writes nothing; exit 4 when something would change'),
    ),
  ).action(async (options: UpOptions, command: Command) => planCommand(upOptionsOf(options, command)));

  program
    .command('policy')
    .description('print the IAM policy (JSON) that up, verify, chaos and down need; makes no AWS call')
    .option('--stack <name>', 'scope the role, log group, repository and load balancer ARNs to this stack (default: any stack)')
    .option('--execution-role <name|arn>', 'also allow reading and passing this role, adopted with `up --execution-role`')
    .option('--json', 'print the policy as JSON (it always is)')
    // Accepted and ignored: hints in --local mode add --local to every `ecs-ha …` they suggest.
    .addOption(new Option('--local').hideHelp())
    .action(async (options: import('./commands/policy.js').PolicyCliOptions) => {
      const { policyAction } = await import('./commands/policy.js');
      await policyAction(options);
    });

  return program;
}

/** On stderr always; with --json also as one JSON document on stdout, so that scripts get one too. */
function printError(error: EcsHaError, json: boolean, local: boolean): void {
  const say = (text: string): string => (local ? suggestLocal(text) : text);
  const message = say(error.message);
  const hint = error.hint ? say(error.hint) : undefined;
  process.stderr.write(`error: ${message}\n`);
  if (hint) process.stderr.write(`hint: ${hint}\n`);
  if (json && !error.resultPrinted) {
    const body = { error: { code: error.name, message, ...(hint ? { hint } : {}), exitCode: error.exitCode } };
    process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
  }
}

/** A stack trace only when asked for: --debug or ECS_HA_DEBUG=1. */
function debugging(argv: string[]): boolean {
  return argv.includes('--debug') || process.env.ECS_HA_DEBUG === '1';
}

/** The one place that turns errors into exit codes. */
export async function main(argv: string[]): Promise<void> {
  // A reader that went away (`ecs-ha status | head -3`) ends the output, not ecs-ha with an EPIPE trace.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
    });
  }
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (error) {
    const commanderError = error as { code?: string; exitCode?: number };
    if (commanderError.code?.startsWith('commander.')) {
      // Help and version exit 0; a usage mistake exits 2 (commander already printed it).
      process.exitCode = commanderError.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
      return;
    }
    const json = argv.includes('--json');
    const local = argv.includes('--local');
    if (error instanceof EcsHaError) {
      printError(error, json, local);
      if (debugging(argv) && error.cause) process.stderr.write(`${(error.cause as Error)?.stack ?? String(error.cause)}\n`);
      process.exitCode = error.exitCode;
      return;
    }
    if (debugging(argv)) process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
    printError(new EcsHaError((error as Error)?.message ?? String(error), ExitCode.failed, 'this is a bug of ecs-ha or an error it does not know yet; run with --debug (or ECS_HA_DEBUG=1) for the stack trace'), json, local);
    process.exitCode = ExitCode.failed;
  }
}
