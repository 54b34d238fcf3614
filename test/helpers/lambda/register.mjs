import { register } from 'node:module';

register('./esm-node-path.mjs', import.meta.url);
