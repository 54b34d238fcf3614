/* global process */
// One Lambda invocation in a fresh process (a cold container): imports the handler from
// $LAMBDA_TASK_ROOT/index.mjs as the runtime does, calls it with the event in PULSE_TEST_EVENT and a
// context, and prints the result (or the error) after a marker line. Only Node built-ins are used here,
// so every package the handler needs must come from its bundle, a layer, or the runtime's SDK.
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const MARK = '@@lambda-result@@';
const name = process.env.AWS_LAMBDA_FUNCTION_NAME;
const context = {
  callbackWaitsForEmptyEventLoop: false,
  functionName: name,
  functionVersion: '$LATEST',
  invokedFunctionArn: `arn:aws:lambda:${process.env.AWS_REGION}:000000000000:function:${name}`,
  memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
  awsRequestId: `req-${process.pid}`,
  logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
  logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
  getRemainingTimeInMillis: () => 60_000,
};
try {
  const [file, exported] = process.env._HANDLER.split('.');
  const module = await import(pathToFileURL(path.join(process.env.LAMBDA_TASK_ROOT, `${file}.mjs`)).href);
  const result = await module[exported](JSON.parse(process.env.PULSE_TEST_EVENT), context);
  process.stdout.write(`\n${MARK}${JSON.stringify({ ok: true, result })}\n`);
} catch (error) {
  process.stdout.write(
    `\n${MARK}${JSON.stringify({ ok: false, error: { name: error?.name, code: error?.code, message: error?.message } })}\n`,
  );
}
// A container is frozen, not exited; here the pool's open connection must not keep the process alive.
process.exit(0);
