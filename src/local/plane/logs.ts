/**
 * Ships task output to CloudWatch Logs the way the awslogs driver does: one stream per container,
 * named `<prefix>/<container>/<task id>`, in the group of the task definition's logConfiguration.
 */
import { CreateLogStreamCommand, PutLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import type { ContainerDefinition } from '@aws-sdk/client-ecs';
import type { AwsClients } from '../../aws/clients.js';
import { isAwsError } from '../../aws/errors.js';

export interface LogDestination {
  group: string;
  stream: string;
}

/** Where awslogs would write this container's output, or undefined when it logs elsewhere. */
export function awslogsDestination(container: ContainerDefinition, taskId: string): LogDestination | undefined {
  const config = container.logConfiguration;
  const group = config?.options?.['awslogs-group'];
  if (config?.logDriver !== 'awslogs' || !group) return undefined;
  const prefix = config.options?.['awslogs-stream-prefix'];
  return { group, stream: prefix ? `${prefix}/${container.name}/${taskId}` : taskId };
}

const FLUSH_MS = 1_000;
/** PutLogEvents takes at most 10,000 events a call. */
const MAX_BATCH = 10_000;

export class LogShipper {
  private readonly pending = new Map<string, { destination: LogDestination; events: Array<{ timestamp: number; message: string }>; created: boolean }>();
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(private readonly aws: AwsClients) {
    this.timer = setInterval(() => void this.flush(), FLUSH_MS);
    this.timer.unref();
  }

  add(destination: LogDestination, message: string): void {
    const key = `${destination.group}\u0000${destination.stream}`;
    let entry = this.pending.get(key);
    if (!entry) {
      entry = { destination, events: [], created: false };
      this.pending.set(key, entry);
    }
    entry.events.push({ timestamp: Date.now(), message });
  }

  /** Sends what is buffered; one flush at a time so events stay in order. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.send()).catch(() => undefined);
    return this.flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  private async send(): Promise<void> {
    for (const entry of this.pending.values()) {
      if (entry.events.length === 0) continue;
      const { group, stream } = entry.destination;
      try {
        if (!entry.created) {
          try {
            await this.aws.logs.send(new CreateLogStreamCommand({ logGroupName: group, logStreamName: stream }));
          } catch (error) {
            if (!isAwsError(error, 'ResourceAlreadyExistsException')) throw error;
          }
          entry.created = true;
        }
        const batch = entry.events.splice(0, MAX_BATCH);
        await this.aws.logs.send(new PutLogEventsCommand({ logGroupName: group, logStreamName: stream, logEvents: batch }));
      } catch {
        // The group is gone (down) or moto stopped: awslogs drops what it cannot deliver too.
        entry.events.length = 0;
      }
    }
  }
}
