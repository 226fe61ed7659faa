/** Helpers to read AWS SDK v3 errors without caring which service threw them. */

interface AwsErrorShape {
  name?: string;
  Code?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  /** Set by the clients factory's middleware: which call failed. */
  $ecsHaOperation?: string;
  $ecsHaService?: string;
}

function shape(error: unknown): AwsErrorShape {
  return typeof error === 'object' && error !== null ? (error as AwsErrorShape) : {};
}

/** The AWS error code (`ResourceNotFoundException`, `DependencyViolation`, …), or '' if none. */
export function awsErrorCode(error: unknown): string {
  const e = shape(error);
  return e.Code ?? e.name ?? e.code ?? '';
}

export function awsErrorMessage(error: unknown): string {
  const e = shape(error);
  return e.message ?? String(error);
}

/**
 * True when the error has one of `codes`. Query-protocol services (ELBv2, IAM) give the short code
 * in `Code` ("LoadBalancerNotFound") and the exception name in `name` ("LoadBalancerNotFoundException"):
 * either spelling matches.
 */
export function isAwsError(error: unknown, ...codes: string[]): boolean {
  const e = shape(error);
  return [e.Code, e.name, e.code].some((code) => code !== undefined && codes.includes(code));
}

/** The API call that failed, as recorded by the clients factory. */
export function failedOperation(error: unknown): string | undefined {
  const e = shape(error);
  if (!e.$ecsHaOperation) return undefined;
  return e.$ecsHaService ? `${e.$ecsHaService}:${e.$ecsHaOperation}` : e.$ecsHaOperation;
}

export function annotateOperation(error: unknown, service: string, operation: string): void {
  if (typeof error === 'object' && error !== null && !('$ecsHaOperation' in error)) {
    Object.assign(error, { $ecsHaOperation: operation, $ecsHaService: service });
  }
}

const credentialErrorNames = new Set([
  'CredentialsProviderError',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'TokenRefreshRequired',
]);

export function isCredentialsError(error: unknown): boolean {
  return credentialErrorNames.has(awsErrorCode(error));
}

/** Hints for errors whose cause users keep tripping over. */
export function hintFor(code: string): string | undefined {
  switch (code) {
    case 'AccessDenied':
    case 'AccessDeniedException':
    case 'UnauthorizedOperation':
      return 'the credentials in use lack permission for this call; ecs-ha needs ECS, ECR, EC2, ELB, IAM, CloudWatch Logs and Cloud Map permissions: run `ecs-ha policy` to print the IAM policy it needs';
    case 'DependencyViolation':
      return 'something still uses this resource (often a Fargate ENI being released); run `ecs-ha down` again in a few minutes';
    case 'ResourceInUse':
    case 'ResourceInUseException':
      return 'the resource is still in use; run the command again in a minute';
    case 'ThrottlingException':
    case 'Throttling':
    case 'RequestLimitExceeded':
      return 'AWS throttled the calls even after retries; run the command again, it resumes where it stopped';
    case 'LimitExceededException':
    case 'TooManyLoadBalancers':
    case 'TooManyTargetGroups':
      return 'an account quota was reached; remove unused resources or ask AWS for a higher quota';
    default:
      return undefined;
  }
}

const NETWORK_CODES = ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE'];

/** The endpoint could not be reached at all: refused, unknown host, timed out, reset. */
export function isNetworkError(error: unknown): boolean {
  const e = shape(error);
  return NETWORK_CODES.includes(e.code ?? '') || (e.name === 'TimeoutError' && e.$metadata?.httpStatusCode === undefined);
}

/** Something answered, but not in an AWS protocol: a web page, a proxy's error page. */
export function isNotAwsAnswer(error: unknown): boolean {
  return /Deserialization error|XML parse error|Unexpected token|is not valid JSON/i.test(shape(error).message ?? '');
}
