/**
 * `--local`: the data plane runs the app folder an image is built from (src/local/plane/apps.ts).
 * Before a rollout, the CLI makes the folder of the release known to the running plane.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { OperationError } from '../errors.js';
import { runningEmulator } from '../local/emulator.js';
import { registerAppFolder } from '../local/plane/apps.js';
import type { Session } from '../session.js';

/** Makes `appDir` known to the stack's running local data plane; nothing to do off --local. */
export async function shareAppFolder(session: Session, appDir: string): Promise<void> {
  // Without a Dockerfile there is no image: the image step says so, with its own exit code.
  if (!session.local || !existsSync(join(appDir, 'Dockerfile'))) return;
  const plane = await runningEmulator(session.stateDir, session.stack);
  // openSession found it running; one that died since is reported by the next AWS call.
  if (!plane) return;
  let outcome: Awaited<ReturnType<typeof registerAppFolder>>;
  try {
    outcome = await registerAppFolder(plane, appDir);
  } catch (error) {
    throw new OperationError((error as Error).message, `see the plane's log: ${session.stateDir}/${session.stack}.emulator.log`, { cause: error });
  }
  if (outcome === 'unsupported' && appDir !== plane.appDir) {
    session.reporter.warn(
      `the running local data plane was started by an earlier ecs-ha: it runs ${plane.appDir} for every image, not ${appDir}; run \`ecs-ha down --local\`, then \`ecs-ha up --local\`, to run it`,
    );
  }
}
