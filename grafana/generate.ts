import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { pulseDashboards, renderDashboard } from './index.ts';

/**
 * Writes grafana/dashboards/*.json from the TypeScript definitions.
 * `--check` writes nothing and exits 1 when a committed file differs from what the code generates.
 */
const outDir = fileURLToPath(new URL('./dashboards/', import.meta.url));
const check = process.argv.includes('--check');
mkdirSync(outDir, { recursive: true });
let stale = 0;
for (const [name, model] of Object.entries(pulseDashboards())) {
  const file = `${outDir}${name}.json`;
  const text = renderDashboard(model);
  if (check) {
    let current = '';
    try {
      current = readFileSync(file, 'utf8');
    } catch {
      // missing counts as stale
    }
    if (current !== text) {
      console.error(`stale: grafana/dashboards/${name}.json (run npm run dashboards)`);
      stale++;
    }
  } else {
    writeFileSync(file, text);
    console.log(`wrote grafana/dashboards/${name}.json`);
  }
}
if (stale > 0) process.exit(1);
