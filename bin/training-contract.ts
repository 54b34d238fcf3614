/** npm run training:contract: writes training/contract.schema.json from the zod schemas (both sides read it). */
import { writeFileSync } from 'node:fs';
import { CONTRACT_SCHEMA_PATH, contractJsonSchema } from '../src/adapters/training/contract.ts';

writeFileSync(CONTRACT_SCHEMA_PATH, JSON.stringify(contractJsonSchema(), null, 2) + '\n');
console.log(`wrote ${CONTRACT_SCHEMA_PATH}`);
