/** Exit codes, as documented in the README. */
export const ExitCode = {
  ok: 0,
  failed: 1,
  usage: 2,
  environment: 3,
  /** `plan` / `up --dry-run`: `up` would change something (not an error: scripts test for drift with it). */
  drift: 4,
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Base of every error the CLI reports itself: a message, an optional hint, an exit code. */
export class EcsHaError extends Error {
  /** The command already printed its result on stdout (with --json, the one document there). */
  readonly resultPrinted: boolean;
  constructor(
    message: string,
    readonly exitCode: ExitCode,
    readonly hint?: string,
    options?: { cause?: unknown; resultPrinted?: boolean },
  ) {
    super(message, options);
    this.name = new.target.name;
    this.resultPrinted = options?.resultPrinted ?? false;
  }
}

/** Bad input: refused before any AWS call (exit 2). */
export class UsageError extends EcsHaError {
  constructor(message: string, hint?: string) {
    super(message, ExitCode.usage, hint);
  }
}

/** The environment is not ready: credentials, Docker, default VPC, AZs (exit 3). */
export class EnvironmentError extends EcsHaError {
  constructor(message: string, hint?: string, options?: { cause?: unknown }) {
    super(message, ExitCode.environment, hint, options);
  }
}

/** An operation or check failed (exit 1). */
export class OperationError extends EcsHaError {
  constructor(message: string, hint?: string, options?: { cause?: unknown; resultPrinted?: boolean }) {
    super(message, ExitCode.failed, hint, options);
  }
}

/** The user pressed Ctrl-C; state was saved (exit 130). */
export class InterruptedError extends EcsHaError {
  constructor(message = 'interrupted') {
    super(message, ExitCode.interrupted);
  }
}

/** An AWS call failed inside a step: names the step, the API call and AWS's own message. */
export class AwsStepError extends EcsHaError {
  constructor(
    readonly step: string,
    readonly operation: string,
    readonly awsCode: string,
    awsMessage: string,
    hint?: string,
    options?: { cause?: unknown },
  ) {
    super(`${step}: ${operation} failed: ${awsCode}: ${awsMessage}`, ExitCode.failed, hint, options);
  }
}
