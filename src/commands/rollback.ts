import { runRollback } from '../deploy/deploy.js';
import { parseMeasureOptions, type MeasureOptionInput } from '../deploy/options.js';
import { concludeRollout } from '../deploy/report.js';
import { canAnimate } from '../ui/reporter.js';
import { abortOnInterrupt } from './interrupt.js';
import { BUNDLED_APP_DIR, openSession, validateCommon, type CommonOptions } from './session.js';
import { type Session } from '../session.js';

export interface RollbackCliOptions extends CommonOptions, MeasureOptionInput {}

/**
 * `ecs-ha rollback`: the service goes back to the previous ACTIVE task definition revision, rolled
 * out and measured as `deploy` measures; exit 1 when it did not complete or too many requests failed.
 */
export async function rollbackAction(options: RollbackCliOptions): Promise<void> {
  validateCommon(options);
  const measure = parseMeasureOptions(options);
  let session: Session | undefined;
  const interrupt = abortOnInterrupt(() => session?.reporter);
  try {
    session = await openSession(options, interrupt.signal, false);
    const interactive = canAnimate(process.stderr) && !options.json;
    const report = await runRollback(session, measure, BUNDLED_APP_DIR, { progressIntervalMs: interactive ? 0 : 5_000 });
    session.reporter.stop();
    concludeRollout(session, report);
  } finally {
    session?.reporter.stop();
    interrupt.dispose();
  }
}
