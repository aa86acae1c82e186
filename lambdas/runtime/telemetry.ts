import { Logger } from '@aws-lambda-powertools/logger';
import type { LogLevel } from '@aws-lambda-powertools/logger/types';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import type middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { BUSINESS_METRICS, type BusinessMetric, type BusinessMetrics } from '#core/ports/metrics.ts';
import { METRICS_NAMESPACE, SERVICE_NAME } from '#service/catalog.ts';
import type { ClientInstrument } from './clients.ts';
import type { AppConfig } from './config.ts';


/**
 * Powertools for AWS Lambda, one of each per container: structured JSON logs, business
 * metrics in CloudWatch's embedded format, X-Ray traces. Per-invocation state (log keys,
 * metrics not yet flushed) lives in Lambda's invocation store, so invocations that share
 * a process (the local runtime, Lambda's multi-concurrency) never mix.
 */
export interface Telemetry {
  logger: Logger;
  metrics: Metrics;
  tracer: Tracer;
}

export function createTelemetry(config: Pick<AppConfig, 'stage' | 'logLevel'>): Telemetry {
  return {
    // Lambda's application log level (the stack's logLevel) wins over logLevel when set.
    logger: new Logger({ serviceName: SERVICE_NAME, logLevel: (config.logLevel ?? 'INFO') as LogLevel, persistentKeys: { stage: config.stage } }),
    // Dimensions: service and stage only (no account, no function: one series per metric and stage).
    metrics: new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME, defaultDimensions: { stage: config.stage } }),
    // Off outside Lambda (the library checks AWS_EXECUTION_ENV).
    tracer: new Tracer({ serviceName: SERVICE_NAME }),
  };
}

/** The X-Ray capture of every SDK client: a slow step's trace shows the DynamoDB and S3 calls it waited on. */
export function traceClients(tracer: Tracer): ClientInstrument {
  return (client) => {
    tracer.captureAWSv3Client(client);
  };
}

/** The core's BusinessMetrics port, written as embedded-metric-format lines at the end of each invocation. */
export function businessMetrics(metrics: Metrics): BusinessMetrics {
  return {
    add: (metric: BusinessMetric, value: number) => metrics.addMetric(metric, MetricUnit[BUSINESS_METRICS[metric].unit], value),
  };
}

/**
 * Log keys naming the work an event is about: the ids a person searches the logs by,
 * and the object type an export or restore step works on (which one was slow or failed).
 */
export const WORK_KEYS = ['accountId', 'backupId', 'planId', 'restoreId', 'objectType'] as const;

/** The work keys present in `value` (strings only), for the logger. */
export function workKeysOf(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null) return {};
  const keys: Record<string, string> = {};
  for (const key of WORK_KEYS) {
    const found = (value as Record<string, unknown>)[key];
    if (typeof found === 'string') keys[key] = found;
  }
  return keys;
}

/**
 * The middlewares every handler starts with, outermost first: the trace segment, the
 * Lambda context and request id on every log line (keys reset after each invocation),
 * and the invocation's metrics written at its end, whether it succeeded or failed.
 */
export function observed<Event, Result>(telemetry: Telemetry): Array<middy.MiddlewareObj<Event, Result, Error, Context>> {
  return [
    captureLambdaHandler(telemetry.tracer, { captureResponse: false }),
    injectLambdaContext(telemetry.logger, { resetKeys: true }),
    flushMetrics(telemetry.metrics),
  ] as Array<middy.MiddlewareObj<Event, Result, Error, Context>>;
}

/**
 * Powertools' own logMetrics middleware warns on every invocation that counted nothing
 * (most API calls): this one writes the metrics only when there are some.
 */
function flushMetrics(metrics: Metrics): middy.MiddlewareObj {
  const flush = async () => {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  };
  return { after: flush, onError: flush };
}

/** How a refusal or a domain error is logged: its name and message (our sentences: no values, no secrets). */
export function loggedError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { name: 'NonError', message: String(error) };
  return { name: error.name, message: error.message };
}
