import { parseInteger } from '../config.js';
import { OperationError } from '../errors.js';
import { stackRefs } from '../inspect/stack.js';
import { formatVerify, runVerify, type VerifyResult } from '../verify/run.js';
import { abortOnInterrupt } from './interrupt.js';
import { openSession, validateCommon, type CommonOptions } from './session.js';
import { readStackState, type Session } from '../session.js';

export interface VerifyCliOptions extends CommonOptions {
  requests: string;
  timeout: string;
}

export function renderVerify(session: Session, result: VerifyResult, colour: boolean): void {
  if (session.json) {
    session.reporter.json(result);
    return;
  }
  for (const line of formatVerify(result, { colour })) session.reporter.result(line);
}

/** The error that makes the exit code 1, thrown after the checks were rendered. */
export function failureOf(result: VerifyResult): OperationError | undefined {
  const failed = result.checks.filter((c) => c.status === 'FAIL');
  if (failed.length === 0) return undefined;
  return new OperationError(`${failed.length} of ${result.checks.length} checks failed: ${failed.map((c) => c.name).join(', ')}`);
}

/** `ecs-ha verify`: exits 0 only when no check failed; SKIP is not a pass, and says why. */
export async function verifyAction(options: VerifyCliOptions): Promise<void> {
  validateCommon(options);
  const requests = parseInteger('--requests', options.requests, 1, 1000);
  const timeoutMs = parseInteger('--timeout', options.timeout, 1) * 1000;
  let session: Session | undefined;
  const interrupt = abortOnInterrupt(() => session?.reporter);
  try {
    session = await openSession(options, interrupt.signal, false);
    const refs = stackRefs(await readStackState(session));
    const result = await runVerify(session, refs, { baseUrl: refs.url, requests, timeoutMs });
    session.reporter.stop();
    renderVerify(session, result, Boolean(process.stdout.isTTY) && !process.env.NO_COLOR);
    const failure = failureOf(result);
    if (failure) throw failure;
  } finally {
    session?.reporter.stop();
    interrupt.dispose();
  }
}
