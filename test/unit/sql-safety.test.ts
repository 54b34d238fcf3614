import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * SQL reaches PostgreSQL only through postgres.js tagged templates (sql`… ${value} …`), which send every
 * value as a bind parameter. This test finds the ways around that: `.unsafe(…)` (raw text), a query
 * function called with a plain template or string, and SQL text assembled with `${…}` or `+` outside a tag.
 */

interface Finding {
  readonly file: string;
  readonly line: number;
  readonly kind: 'unsafe' | 'untagged-call' | 'string-built';
  readonly text: string;
}

const SQL_START = /^\s*(select|insert|update|delete|with|create|drop|alter|truncate|grant|revoke|copy|do)\b/i;

/** Scans TypeScript source for SQL that is not a parameterised tagged template. */
export function findStringBuiltSql(source: string, file: string): Finding[] {
  const findings: Finding[] = [];
  const lineOf = (index: number) => source.slice(0, index).split('\n').length;
  const textAt = (index: number) => source.split('\n')[lineOf(index) - 1]!.trim();
  for (const m of source.matchAll(/\.unsafe\s*\(/g))
    findings.push({ file, line: lineOf(m.index), kind: 'unsafe', text: textAt(m.index) });
  // sql(`…`) or tx('…'): a query helper called like a function with text, not used as a tag.
  for (const m of source.matchAll(/\b(sql|tx|admin|db\.sql|client)\s*\(\s*[`'"]\s*(\w+)/g)) {
    if (SQL_START.test(m[2]!))
      findings.push({ file, line: lineOf(m.index), kind: 'untagged-call', text: textAt(m.index) });
  }
  // A template literal holding SQL with ${…} that is not tagged (preceded by ( = , : + ? return …).
  for (const m of source.matchAll(/(^|[(=,:+?[{]|\breturn)\s*`([^`]*)`/gm)) {
    const body = m[2]!;
    if (SQL_START.test(body) && body.includes('${'))
      findings.push({ file, line: lineOf(m.index), kind: 'string-built', text: textAt(m.index) });
  }
  // 'select … ' + value
  for (const m of source.matchAll(/(['"])\s*(select|insert|update|delete)\b[^'"\n]*\1\s*\+/gi))
    findings.push({ file, line: lineOf(m.index), kind: 'string-built', text: textAt(m.index) });
  return findings;
}

/**
 * Reviewed raw SQL in deployed code: constant names and the project's own migration files, never input.
 * A new entry needs the same review: where does every interpolated piece come from?
 */
const ALLOWED: readonly { file: string; text: RegExp; why: string }[] = [
  {
    file: 'src/adapters/postgres/migrate.ts',
    text: /tx\.unsafe\(migration\.sql\)/,
    why: 'runs the SQL files of src/adapters/postgres/migrations, shipped with the code',
  },
  {
    file: 'src/adapters/postgres/admin.ts',
    text: /admin\.unsafe\(`(drop database if exists|create database) \$\{name\}( with \(force\))?`\)/,
    why: 'CREATE/DROP DATABASE take no parameters; the name is checked to be a plain identifier first',
  },
];

/** Code that is never deployed (tests, benchmarks) may use raw SQL for fixtures and DDL on its own names. */
const NOT_DEPLOYED = [/^test\//, /^bench\//];
/** Grafana panels are SQL text by nature: Grafana runs them with its own macros, against the read-only role. */
const SQL_AS_DATA = [/^grafana\//];

function sourceFiles(root: string): string[] {
  const skip = new Set([
    'node_modules',
    '.git',
    '.pulse',
    '.tmp',
    'cdk.out',
    'dist',
    'coverage',
    'model-artifacts',
  ]);
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      if (skip.has(name) || name.startsWith('.')) continue;
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.(ts|mts|js|mjs)$/.test(name) && !name.endsWith('.d.ts')) out.push(path);
    }
  };
  walk(root);
  return out;
}

describe('SQL is built only with parameterised tagged templates', () => {
  it('the scanner finds each way around the tags (it can fail)', () => {
    const sample = [
      'await sql.unsafe(`select * from actuals where series_id = ${id}`);',
      "const q = `delete from actuals where hour = '${hour}'`;",
      'await sql(`select 1`);',
      "const s = 'select * from series where name = ' + name;",
      'await sql`select * from actuals where series_id = ${id}`;',
      'await sql<{ n: number }[]>`select count(*) from actuals where hour > ${from}`;',
      'logger.info(`forecast run finished for ${name}`);',
    ].join('\n');
    expect(findStringBuiltSql(sample, 'sample.ts').map((f) => [f.line, f.kind])).toEqual([
      [1, 'unsafe'],
      [3, 'untagged-call'],
      [1, 'string-built'],
      [2, 'string-built'],
      [4, 'string-built'],
    ]);
  });

  it('deployed code has no raw SQL beyond the reviewed allow-list', () => {
    const root = process.cwd();
    const findings = sourceFiles(root)
      .map((path) => relative(root, path))
      .filter((file) => !NOT_DEPLOYED.some((p) => p.test(file)) && !SQL_AS_DATA.some((p) => p.test(file)))
      .flatMap((file) => findStringBuiltSql(readFileSync(join(root, file), 'utf8'), file));
    const unreviewed = findings.filter((f) => !ALLOWED.some((a) => a.file === f.file && a.text.test(f.text)));
    expect(unreviewed.map((f) => `${f.file}:${f.line} ${f.kind}: ${f.text}`)).toEqual([]);
    // Every allow-list entry still matches something: a stale entry would hide a future one.
    for (const a of ALLOWED)
      expect(
        findings.some((f) => f.file === a.file && a.text.test(f.text)),
        a.file,
      ).toBe(true);
  });
});
