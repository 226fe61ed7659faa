/**
 * The Availability Zone of each task that wrote a line, from ECS DescribeTasks. ECS forgets a
 * stopped task about an hour after it stopped: such a task, and any the call could not describe,
 * shows as unknown rather than failing the command, whose job is the lines.
 */
import { DescribeTasksCommand, type ECSClient } from '@aws-sdk/client-ecs';
import { awsErrorCode, awsErrorMessage } from '../aws/errors.js';

/** DescribeTasks takes at most 100 tasks a call. */
const MAX_TASKS_PER_CALL = 100;

export class TaskZones {
  /** Task ID → AZ, or null once ECS could not tell. */
  private readonly zones = new Map<string, string | null>();
  private warned = false;

  constructor(
    private readonly ecs: ECSClient,
    private readonly cluster: string,
    private readonly warn: (message: string) => void,
    private readonly signal?: AbortSignal,
  ) {}

  /** Looks up the tasks not asked about before; each task is asked about once. */
  async learn(taskIds: Iterable<string>): Promise<void> {
    const unknown = [...new Set(taskIds)].filter((id) => !this.zones.has(id));
    for (let i = 0; i < unknown.length; i += MAX_TASKS_PER_CALL) {
      const batch = unknown.slice(i, i + MAX_TASKS_PER_CALL);
      for (const id of batch) this.zones.set(id, null);
      try {
        const { tasks = [] } = await this.ecs.send(new DescribeTasksCommand({ cluster: this.cluster, tasks: batch }), { abortSignal: this.signal });
        for (const task of tasks) {
          const id = task.taskArn?.split('/').pop();
          if (id && task.availabilityZone) this.zones.set(id, task.availabilityZone);
        }
      } catch (error) {
        if (this.signal?.aborted) throw error;
        if (!this.warned) this.warn(`cannot read the tasks' Availability Zones (ECS DescribeTasks failed: ${awsErrorCode(error) || 'error'}: ${awsErrorMessage(error)}); they show as ?`);
        this.warned = true;
      }
    }
  }

  /** The task's AZ, or undefined when ECS did not know it (stopped long ago, or not asked yet). */
  zoneOf(taskId: string): string | undefined {
    return this.zones.get(taskId) ?? undefined;
  }
}
