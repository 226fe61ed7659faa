import { parseChaosOptions, type ChaosOptionInput } from '../chaos/options.js';
import { concludeChaos } from '../chaos/report.js';
import { runChaos } from '../chaos/run.js';
import { canAnimate } from '../ui/reporter.js';
import { abortOnInterrupt } from './interrupt.js';
import { openSession, validateCommon, type CommonOptions } from './session.js';
import { type Session } from '../session.js';

export interface ChaosCliOptions extends CommonOptions, ChaosOptionInput {}

/**
 * `ecs-ha chaos --kill-one | --kill-az AZ`: stops task(s) while probing the URL and reports the
 * recovery timeline and what a user saw; exit 1 when it did not recover or too many requests failed.
 */
export async function chaosAction(options: ChaosCliOptions): Promise<void> {
  validateCommon(options);
  const chaos = parseChaosOptions(options);
  let session: Session | undefined;
  const interrupt = abortOnInterrupt(() => session?.reporter);
  try {
    session = await openSession(options, interrupt.signal, false);
    const interactive = canAnimate(process.stderr) && !options.json;
    const report = await runChaos(session, chaos, { progressIntervalMs: interactive ? 0 : 5_000 });
    session.reporter.stop();
    concludeChaos(session, report);
  } finally {
    session?.reporter.stop();
    interrupt.dispose();
  }
}
