import { z } from 'zod';
import { runScheduledBackups } from '#core/backups/run-scheduled-backups.ts';
import { lambdaHandler } from '#runtime/lazy-handler.ts';
import { stepHandler } from '#runtime/step-handler.ts';

/** The EventBridge schedule's event (a timer's locally): nothing in it is needed. */
const scheduledEvent = z.unknown();

/** The backup scheduler: an EventBridge schedule in AWS, a timer in the local runtime. */
export const createHandler = stepHandler(scheduledEvent, async (_event, deps) => {
  const run = await runScheduledBackups(deps);
  deps.telemetry.logger.info('Scheduled backups', { started: run.started.length, waiting: run.waiting.length, recovered: run.recovered, failed: run.failed });
  return run;
});

export const handler = lambdaHandler(createHandler);
