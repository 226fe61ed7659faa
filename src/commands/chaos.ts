import { parseChaosOptions, type ChaosOptionInput } from '../chaos/options.js';
import { concludeChaos } from '../chaos/report.js';
import { runChaos } from '../chaos/run.js';
import { canAnimate } from '../ui/reporter.js';
import { abortOnInterrupt, interruptSignal } from './interrupt.js';
import { openSession, validateCommon, type CommonOptions } from './session.js';
import { type Session } from '../session.js';

export interface ChaosCliOptions extends CommonOptions, ChaosOptionInput {}

/**
 * `ecs-ha chaos --kill-one | --kill-az AZ`: stops task(s) while probing the URL and reports the
 * recovery timeline and what a user saw; exit 1 when it did not recover or too many requests failed.
 * `--kill-az` takes the zone's subnets out of the service for the drill and gives them back after.
 */
export async function chaosAction(options: ChaosCliOptions): Promise<void> {
  validateCommon(options);
  const chaos = parseChaosOptions(options);
  let session: Session | undefined;
  // A zone drill gives the zone back before it exits: the first Ctrl-C lets that happen.
  const interrupt = chaos.drill?.restore
    ? interruptSignal(
        () => session?.reporter.warn('interrupted: giving the zone\'s subnets back to the service before exiting (Ctrl-C again to exit now)'),
        `\ninterrupted again: exiting now; the zone may still be left out of the service: \`ecs-ha up${options.local ? ' --local' : ''} --stack ${options.stack}\` gives its subnets back\n`,
      )
    : abortOnInterrupt(() => session?.reporter);
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
