import { runDeploy, type DeployResult } from '../deploy/deploy.js';
import { parseDeployOptions, type DeployOptionInput } from '../deploy/options.js';
import { concludeRollout } from '../deploy/report.js';
import { canAnimate } from '../ui/reporter.js';
import { abortOnInterrupt } from './interrupt.js';
import { BUNDLED_APP_DIR, openSession, validateCommon, type CommonOptions } from './session.js';
import { type Session } from '../session.js';

export interface DeployCliOptions extends CommonOptions, DeployOptionInput {}

function renderUnchanged(session: Session, result: Extract<DeployResult, { changed: false }>): void {
  if (session.json) {
    session.reporter.json(result);
    return;
  }
  session.reporter.result(
    `Nothing to deploy: service "${result.service}" already runs ${result.taskDefinition} (version ${result.appVersion}, image ${result.image}); the service was not touched.`,
  );
}

/**
 * `ecs-ha deploy`: rolls a new version out (--app-version, --app-dir, --image) while probing the
 * URL; reports which version answered when, and what a user saw; exit 1 when it did not complete
 * (rolled back, failed, timed out) or too many requests failed.
 */
export async function deployAction(options: DeployCliOptions): Promise<void> {
  validateCommon(options);
  const deploy = parseDeployOptions(options, options.stack, options.local === true);
  let session: Session | undefined;
  const interrupt = abortOnInterrupt(() => session?.reporter);
  try {
    session = await openSession(options, interrupt.signal, false);
    const interactive = canAnimate(process.stderr) && !options.json;
    const result = await runDeploy(session, deploy, BUNDLED_APP_DIR, { progressIntervalMs: interactive ? 0 : 5_000 });
    session.reporter.stop();
    if (result.changed) concludeRollout(session, result.report);
    else renderUnchanged(session, result);
  } finally {
    session?.reporter.stop();
    interrupt.dispose();
  }
}
