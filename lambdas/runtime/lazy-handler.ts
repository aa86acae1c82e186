import type { Context } from 'aws-lambda';
import { configFromEnv } from './config.ts';
import { buildDeps, type AppDeps } from './deps.ts';

type Handler<E, R> = (event: E, context: Context) => Promise<R>;

/**
 * Builds a handler's dependencies on the first invocation rather than at import time,
 * so that importing a handler (tests, the local runtime, the CDK bundler) never reads
 * the environment or opens clients, while warm Lambda invocations reuse them.
 */
export function lazyHandler<E, R>(build: () => Handler<E, R>): Handler<E, R> {
  let built: Handler<E, R> | undefined;
  return (event, context) => {
    built ??= build();
    return built(event, context);
  };
}

/** The handler Lambda runs: `createHandler` given dependencies from the environment, built on the first invocation. */
export function lambdaHandler<E, R>(createHandler: (deps: AppDeps) => Handler<E, R>): Handler<E, R> {
  return lazyHandler(() => createHandler(buildDeps(configFromEnv())));
}
