import type { Api } from './api.ts';
import type { Session, WebConfig } from './auth.ts';

/** What each screen gets when the router renders it. */
export interface ViewContext {
  api: Api;
  config: WebConfig;
  session: Session;
  /** The `<main>` element the screen renders into. */
  main: HTMLElement;
  params: Record<string, string>;
  query: URLSearchParams;
  /** Aborted when the user leaves the screen: stops polling. */
  signal: AbortSignal;
  /** True when the page was opened at this address (an email link), not reached by a click. */
  landing: boolean;
  navigate(path: string): void;
  /** Shows the "only super admins" page when the API answers 403. */
  forbidden(message: string): void;
}

/** Waits, or gives up early when the screen is left. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}
