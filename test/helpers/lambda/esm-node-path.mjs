/* global process */
// Registered with `node --import` in the Lambda-layout test's child processes (see register.mjs).
//
// Node's ES-module resolver ignores NODE_PATH. The Lambda Node.js runtimes (18 and later) do not: AWS
// documents that "Lambda searches folders in the NODE_PATH environment variable when loading ES modules",
// which is how `import 'onnxruntime-node'` in /var/task/index.mjs finds the layer's
// /opt/nodejs/node_modules/onnxruntime-node, and `import '@aws-sdk/...'` the runtime's copy in
// /var/runtime/node_modules. This hook does the same: when a bare specifier is not found the usual way
// (node_modules next to the importer and above it), each NODE_PATH folder is tried in order.
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const BARE = /^(?![./]|[a-z]+:)/i;

export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (error) {
    if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !BARE.test(specifier)) throw error;
    for (const dir of (process.env.NODE_PATH ?? '').split(path.delimiter).filter(Boolean)) {
      // Resolving from a file inside `dir`'s parent looks in `dir` when dir is a node_modules folder.
      const parent = path.basename(dir) === 'node_modules' ? path.dirname(dir) : dir;
      try {
        return await nextResolve(specifier, {
          ...context,
          parentURL: pathToFileURL(path.join(parent, '__lambda_node_path__.mjs')).href,
        });
      } catch (retry) {
        if (retry?.code !== 'ERR_MODULE_NOT_FOUND') throw retry;
      }
    }
    throw error;
  }
}
