import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram, commandPath } from '../../src/cli/program.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DOCS = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];
const SCRIPTS = Object.keys(
  (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> })
    .scripts,
);

/** How the docs start a CLI call, and the command it runs when the words after it name none. */
const LAUNCHERS: { pattern: RegExp; implied?: string }[] = [
  { pattern: /(?:^|\s)npm start --\s+/, implied: 'demo' },
  { pattern: /(?:^|\s)npm run train --\s+/, implied: 'train' },
  { pattern: /(?:^|\s)npm (?:--prefix \S+ )?run pulse --\s+/ },
  { pattern: /(?:^|\s)npx tsx bin\/pulse\.ts\s+/ },
  { pattern: /(?:^|\s)\S*bin\/pulse\s+/ },
  { pattern: /(?:^|\s)pulse\s+/ },
];

interface Example {
  readonly where: string;
  readonly text: string;
  readonly implied?: string;
}

/** Every CLI call in the docs: inline code spans and the lines of fenced blocks. */
function examples(): Example[] {
  const found: Example[] = [];
  for (const file of DOCS) {
    const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
    let fenced = false;
    lines.forEach((line, i) => {
      if (line.trimStart().startsWith('```')) {
        fenced = !fenced;
        return;
      }
      const pieces = fenced
        ? [line.replace(/\s#.*$/, '')]
        : [...line.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
      for (const piece of pieces) {
        // Table cells escape the pipe of alternatives (`db start\|stop`).
        const code = piece.replace(/\\\|/g, '|');
        for (const { pattern, implied } of LAUNCHERS) {
          const m = pattern.exec(code);
          if (!m) continue;
          found.push({ where: `${file}:${i + 1}`, text: code.slice(m.index + m[0].length), implied });
          break;
        }
      }
    });
  }
  return found;
}

/** The commands an example names (`db start|stop` is two) and the flags it passes. */
function parse(example: Example, program: Command): { commands: Command[]; flags: string[] } | string {
  const words = example.text
    .replace(/[[\]]/g, ' ')
    .split(/\s+/)
    .filter((w) => w !== '' && w !== '…');
  let commands: Command[] = [program];
  let k = 0;
  if (example.implied) commands = [program.commands.find((c) => c.name() === example.implied)!];
  for (; k < words.length; k++) {
    const word = words[k]!;
    if (word.startsWith('-') || word === '<command>') break;
    const next = word.split('|').map((w) => commands[0]!.commands.find((c) => c.name() === w));
    if (next.some((c) => c === undefined)) {
      // Below a command with subcommands (or as alternatives), a word must name one; else it is an argument.
      if (commands[0]!.commands.length > 0 || next.length > 1) return `"${word}" is not a pulse command`;
      break;
    }
    commands = next as Command[];
  }
  const flags = words
    .slice(k)
    .flatMap((w) => w.split('/'))
    .filter((w) => /^--?[a-z]/.test(w))
    .map((w) => w.replace(/=.*$/, ''));
  return { commands, flags };
}

function problemsOf(example: Example, program: Command): string[] {
  const parsed = parse(example, program);
  if (typeof parsed === 'string') return [`${example.where}: ${parsed} (${example.text})`];
  return parsed.commands.flatMap((command) =>
    parsed.flags
      .filter((flag) => !knows(command, flag))
      .map((flag) => `${example.where}: pulse ${commandPath(command)} has no ${flag} (${example.text})`),
  );
}

function knows(command: Command, flag: string): boolean {
  for (let c: Command | null = command; c; c = c.parent) {
    if (c.options.some((o) => o.long === flag || o.short === flag)) return true;
  }
  return flag === '--help' || flag === '-h';
}

// Issue 15: "the README's commands and every CLI example in the docs run as written". Whether they run is
// checked by hand from a fresh clone (see the note); this keeps the docs from drifting from the CLI: every
// command they name exists, and every flag they pass is one of that command's.
describe('the CLI examples in README.md and docs/', () => {
  const found = examples();

  it('finds the examples (the extraction itself works)', () => {
    expect(found.length).toBeGreaterThan(40);
    expect(found.map((e) => e.text)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^db start\|stop\|migrate\|status/),
        expect.stringMatching(/^models promote VERSION --series/),
        expect.stringMatching(/^--csv \.\.\/shared\/data\/turkey\.csv/), // npm start -- --csv …
      ]),
    );
  });

  it('name only commands and flags the CLI has', () => {
    const program = buildProgram();
    expect(found.flatMap((e) => problemsOf(e, program))).toEqual([]);
  });

  it('would catch a drifted example', () => {
    const program = buildProgram();
    const drifted = (text: string) => problemsOf({ where: 'x.md:1', text }, program);
    expect(drifted('forecast --at TIME --when NOW')).toEqual([
      'x.md:1: pulse forecast has no --when (forecast --at TIME --when NOW)',
    ]);
    expect(drifted('db start|halt')).toEqual(['x.md:1: "start|halt" is not a pulse command (db start|halt)']);
    expect(drifted('predict --at TIME')).toEqual([
      'x.md:1: "predict" is not a pulse command (predict --at TIME)',
    ]);
  });

  it('name only npm scripts package.json has', () => {
    const problems: string[] = [];
    for (const file of DOCS) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      for (const m of text.matchAll(/npm (?:--prefix \S+ )?run ([a-z][\w:-]*)/g)) {
        if (!SCRIPTS.includes(m[1]!)) problems.push(`${file}: npm run ${m[1]} is not a script`);
      }
    }
    expect(problems).toEqual([]);
  });
});
