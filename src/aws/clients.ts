import { AsyncLocalStorage } from 'node:async_hooks';
import { closeSync, fstatSync, readFileSync, statfsSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { ApplicationAutoScalingClient } from '@aws-sdk/client-application-auto-scaling';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { EC2Client } from '@aws-sdk/client-ec2';
import { ECRClient } from '@aws-sdk/client-ecr';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { IAMClient } from '@aws-sdk/client-iam';
import { Route53Client } from '@aws-sdk/client-route-53';
import { ServiceDiscoveryClient } from '@aws-sdk/client-servicediscovery';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { EnvironmentError, UsageError } from '../errors.js';
import { explainFileError, openForAppend } from '../fs/safe.js';
import { annotateOperation, awsErrorCode, awsErrorMessage, isCredentialsError, isNetworkError, isNotAwsAnswer } from './errors.js';

export const USER_AGENT = 'ecs-ha/0.1.0';

export interface AwsSettings {
  region?: string;
  profile?: string;
  /** Overrides every service's endpoint (the emulator, or AWS_ENDPOINT_URL). */
  endpointUrl?: string;
  /** Static credentials, used for the local emulator only. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Appends one JSON line per AWS call to this file. */
  tracePath?: string;
  /** Told once when the trace cannot be written any more (default: a line on stderr). */
  onTraceFailure?: (message: string) => void;
  maxAttempts?: number;
}

/**
 * Opens the trace file once, before any AWS call: a folder is a usage error (exit 2); a path that
 * cannot be written or a full disk is the environment's (exit 3).
 */
function openTrace(path: string): number {
  let fd: number;
  try {
    fd = openForAppend(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EISDIR') throw new UsageError(`invalid --trace "${path}": it is a folder`, 'give the path of a file, e.g. --trace ecs-ha-trace.jsonl');
    throw explainFileError(error, `cannot write the trace file ${path}`, 'give --trace a path you can write, or leave it out');
  }
  // A regular file on a full file system: every line would be lost.
  if (fstatSync(fd).isFile()) {
    const space = statfsSync(dirname(path));
    if (space.bavail === 0) {
      closeSync(fd);
      throw new EnvironmentError(`cannot write the trace file ${path}: no space left on its file system`, 'free some space, or give --trace a path on another disk');
    }
  }
  return fd;
}

/** Which step a call is made for, so the trace can attribute every call (and the benchmark its critical path). */
const currentStep = new AsyncLocalStorage<string>();

/** Runs `work` with every AWS call it makes attributed to `step` in the trace. */
export function attributeCallsTo<T>(step: string, work: () => Promise<T>): Promise<T> {
  return currentStep.run(step, work);
}

/** One line of the audit trace. Holds the call's input, never credentials. */
export interface TraceRecord {
  time: string;
  /** The step or phase the call was made for ("cluster", "wait"), when there is one. */
  step?: string;
  service: string;
  operation: string;
  input: unknown;
  durationMs: number;
  status?: number;
  error?: string;
}

type Handler = (args: { input: unknown }) => Promise<{ response?: unknown; output?: unknown }>;
type Middleware = (next: Handler, context: { clientName?: string; commandName?: string }) => Handler;
interface HasMiddlewareStack {
  middlewareStack: { add(middleware: Middleware, options: Record<string, unknown>): void };
}

const READ_ONLY_PREFIXES = ['Describe', 'List', 'Get', 'Discover', 'BatchGet', 'BatchCheck'];

/** True for calls that change something in the account (the trace's notion of a write). */
export function isMutatingOperation(operation: string): boolean {
  return !READ_ONLY_PREFIXES.some((prefix) => operation.startsWith(prefix));
}

/**
 * The only place SDK clients are made. Every client shares region, profile, endpoint, adaptive
 * retries, user agent and the trace middleware, so all calls take the same path.
 */
export class AwsClients {
  private readonly made = new Map<string, unknown>();
  /** Every call made through these clients, in order; tests and the benchmark read it. */
  readonly calls: TraceRecord[] = [];

  constructor(readonly settings: AwsSettings = {}) {
    if (settings.tracePath) this.traceFd = openTrace(settings.tracePath);
  }

  get ecs(): ECSClient {
    return this.client('ecs', (c) => new ECSClient(c));
  }
  get ecr(): ECRClient {
    return this.client('ecr', (c) => new ECRClient(c));
  }
  get elbv2(): ElasticLoadBalancingV2Client {
    return this.client('elbv2', (c) => new ElasticLoadBalancingV2Client(c));
  }
  get ec2(): EC2Client {
    return this.client('ec2', (c) => new EC2Client(c));
  }
  get iam(): IAMClient {
    return this.client('iam', (c) => new IAMClient(c));
  }
  get logs(): CloudWatchLogsClient {
    return this.client('logs', (c) => new CloudWatchLogsClient(c));
  }
  get serviceDiscovery(): ServiceDiscoveryClient {
    // A custom endpoint cannot take the `data-` host prefix DiscoverInstances adds.
    return this.client('servicediscovery', (c) => new ServiceDiscoveryClient({ ...c, disableHostPrefix: Boolean(this.settings.endpointUrl) }));
  }
  /** Read only: the VPCs of a Cloud Map namespace's private hosted zone. */
  get route53(): Route53Client {
    return this.client('route53', (c) => new Route53Client(c));
  }
  get autoScaling(): ApplicationAutoScalingClient {
    return this.client('autoscaling', (c) => new ApplicationAutoScalingClient(c));
  }
  get sts(): STSClient {
    return this.client('sts', (c) => new STSClient(c));
  }

  /** The region every client uses, resolved as the SDK does (option, AWS_REGION, profile). */
  async region(): Promise<string> {
    this.checkProfile();
    try {
      return await this.sts.config.region();
    } catch (error) {
      throw new EnvironmentError(
        'no AWS region is configured',
        'pass --region, set AWS_REGION, or set a region in your AWS profile; or run with --local to use the local emulator, no account needed',
        { cause: error },
      );
    }
  }

  /**
   * A named profile that is in neither AWS file: said as such, before the SDK reports it as a
   * missing region or missing credentials.
   */
  private checkProfile(): void {
    // Only an explicit --profile: with AWS_PROFILE set, environment credentials may still serve.
    const profile = this.settings.profile;
    if (!profile || this.settings.credentials) return;
    const files = [process.env.AWS_CONFIG_FILE ?? join(homedir(), '.aws', 'config'), process.env.AWS_SHARED_CREDENTIALS_FILE ?? join(homedir(), '.aws', 'credentials')];
    const sections = files.flatMap((file) => {
      try {
        return [...readFileSync(file, 'utf8').matchAll(/^\s*\[\s*(?:profile\s+)?([^\]]+?)\s*\]/gm)].map((m) => m[1]);
      } catch {
        return [];
      }
    });
    if (!sections.includes(profile)) {
      throw new EnvironmentError(
        `the AWS profile "${profile}" does not exist: it is in neither ${files.join(' nor ')}`,
        `check the name (profiles there: ${sections.length ? [...new Set(sections)].join(', ') : 'none'}), create it with \`aws configure --profile ${profile}\`, or run with --local`,
      );
    }
  }

  /** The account of the credentials in use; fails with exit 3 when there are none. */
  async account(): Promise<string> {
    try {
      const identity = await this.sts.send(new GetCallerIdentityCommand({}));
      if (!identity.Account) throw new Error('GetCallerIdentity returned no account');
      return identity.Account;
    } catch (error) {
      if (isNetworkError(error) || isNotAwsAnswer(error)) {
        const endpoint = this.settings.endpointUrl ?? `the AWS endpoint of ${await this.sts.config.region().catch(() => 'the region')}`;
        const why = isNetworkError(error) ? awsErrorMessage(error) : 'it answered, but not as AWS does (a web page or a proxy?)';
        throw new EnvironmentError(
          `cannot reach the AWS endpoint ${endpoint}: ${why}`,
          this.settings.endpointUrl
            ? 'check --endpoint-url or AWS_ENDPOINT_URL (host, port, http/https), and that the endpoint runs; for the local emulator use --local instead'
            : 'check your network connection, proxy settings and --region',
          { cause: error },
        );
      }
      if (isCredentialsError(error) || awsErrorCode(error) === 'AccessDenied' || /credential/i.test(awsErrorMessage(error))) {
        throw new EnvironmentError(
          `no usable AWS credentials: ${awsErrorMessage(error)}`,
          'configure credentials (aws configure, AWS_PROFILE, or --profile), or run with --local to use the local emulator',
          { cause: error },
        );
      }
      throw error;
    }
  }

  private traceFd: number | undefined;

  /**
   * Appends to the trace file opened at start. A write that fails (a full disk) stops tracing with
   * one warning: the call it records already happened in AWS, and must not look failed.
   */
  private appendTrace(line: string): void {
    if (this.traceFd === undefined) return;
    try {
      writeSync(this.traceFd, line);
    } catch (error) {
      const fd = this.traceFd;
      this.traceFd = undefined;
      try {
        closeSync(fd);
      } catch {
        // closing is best effort once writing failed
      }
      const message = `could not write the trace to ${this.settings.tracePath}: ${(error as Error).message}; tracing stopped, the command goes on`;
      (this.settings.onTraceFailure ?? ((text) => process.stderr.write(`warning: ${text}\n`)))(message);
    }
  }

  private client<T>(key: string, make: (config: Record<string, unknown>) => T): T {
    let client = this.made.get(key) as T | undefined;
    if (!client) {
      client = make(this.baseConfig());
      (client as unknown as HasMiddlewareStack).middlewareStack.add(this.traceMiddleware(), {
        step: 'initialize',
        name: 'ecsHaTrace',
        priority: 'high',
      });
      this.made.set(key, client);
    }
    return client;
  }

  private baseConfig(): Record<string, unknown> {
    const { region, profile, endpointUrl, credentials, maxAttempts } = this.settings;
    return {
      ...(region ? { region } : {}),
      ...(profile ? { profile } : {}),
      ...(endpointUrl ? { endpoint: endpointUrl } : {}),
      ...(credentials ? { credentials } : {}),
      retryMode: 'adaptive',
      maxAttempts: maxAttempts ?? 8,
      customUserAgent: USER_AGENT,
    };
  }

  /** Wraps the whole call, retries included: records it and names the call on any error. */
  private traceMiddleware(): Middleware {
    return (next, context) => async (args) => {
      const service = (context.clientName ?? 'Unknown').replace(/Client$/, '');
      const operation = (context.commandName ?? 'Unknown').replace(/Command$/, '');
      const started = Date.now();
      const step = currentStep.getStore();
      const record = (fields: Partial<TraceRecord>): void => {
        const entry: TraceRecord = {
          time: new Date(started).toISOString(),
          ...(step ? { step } : {}),
          service,
          operation,
          input: args.input,
          durationMs: Date.now() - started,
          ...fields,
        };
        this.calls.push(entry);
        this.appendTrace(`${JSON.stringify(entry)}\n`);
      };
      try {
        const result = await next(args);
        const status = (result.response as { statusCode?: number } | undefined)?.statusCode;
        record(status === undefined ? {} : { status });
        return result;
      } catch (error) {
        annotateOperation(error, service, operation);
        const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
        record({ error: awsErrorCode(error) || 'Error', ...(status === undefined ? {} : { status }) });
        throw error;
      }
    };
  }
}
