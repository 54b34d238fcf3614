import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { readTarGz, writeTarGz } from '../../src/adapters/archive/tar.ts';
import { InputError } from '../../src/core/errors.ts';

const entries = [
  { name: 'train.py', data: Buffer.from('print("hello")\n') },
  { name: 'contract.schema.json', data: Buffer.from('{}\n') },
  // Exactly one block, and an empty file: the padding edge cases.
  { name: 'block.bin', data: Buffer.alloc(512, 7) },
  { name: 'empty', data: Buffer.alloc(0) },
];

describe('writeTarGz / readTarGz', () => {
  it('reads back what it wrote, in order, and writes the same bytes for the same files', () => {
    const archive = writeTarGz(entries);
    expect(readTarGz(archive).map((e) => [e.name, Buffer.from(e.data).toString('hex')])).toEqual(
      entries.map((e) => [e.name, e.data.toString('hex')]),
    );
    expect(writeTarGz(entries).equals(archive)).toBe(true);
  });

  it("writes an archive Python's tarfile (SageMaker's toolkit) extracts unchanged", () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pulse-tar-'));
    writeFileSync(path.join(dir, 'source.tar.gz'), writeTarGz(entries));
    execFileSync('/usr/bin/python3', [
      '-c',
      'import sys, tarfile; tarfile.open(sys.argv[1], "r:gz").extractall(sys.argv[2])',
      path.join(dir, 'source.tar.gz'),
      path.join(dir, 'out'),
    ]);
    for (const e of entries)
      expect(readFileSync(path.join(dir, 'out', e.name)).equals(e.data), e.name).toBe(true);
  });

  it.each(['PAX_FORMAT', 'GNU_FORMAT'])(
    "reads Python's %s archives with ./ prefixes, folders and names over 100 bytes",
    (format) => {
      const dir = mkdtempSync(path.join(tmpdir(), 'pulse-tar-'));
      const long = `${'n'.repeat(120)}.onnx`;
      writeFileSync(path.join(dir, 'model.onnx'), Buffer.from([1, 2, 3, 250]));
      writeFileSync(path.join(dir, long), 'long name');
      execFileSync('/usr/bin/python3', [
        '-c',
        [
          'import sys, tarfile, os',
          `t = tarfile.open(sys.argv[1], "w:gz", format=tarfile.${format})`,
          'os.chdir(sys.argv[2])',
          't.add(".", arcname=".", recursive=False)',
          'for n in sys.argv[3:]: t.add(n, arcname="./" + n)',
          't.close()',
        ].join('\n'),
        path.join(dir, 'model.tar.gz'),
        dir,
        'model.onnx',
        long,
      ]);
      const read = readTarGz(readFileSync(path.join(dir, 'model.tar.gz')));
      expect(read.map((e) => e.name)).toEqual(['model.onnx', long]);
      expect([...read[0]!.data]).toEqual([1, 2, 3, 250]);
      expect(Buffer.from(read[1]!.data).toString()).toBe('long name');
    },
  );

  it('refuses data that is not gzip, and an archive cut inside an entry, naming it', () => {
    expect(() => readTarGz(Buffer.from('not gzip'), 's3://b/model.tar.gz')).toThrow(InputError);
    expect(() => readTarGz(Buffer.from('not gzip'), 's3://b/model.tar.gz')).toThrow(
      /s3:\/\/b\/model\.tar\.gz is not gzip data/,
    );
    const cut = gzipSync(
      gunzipSync(writeTarGz([{ name: 'a', data: Buffer.alloc(2000, 1) }])).subarray(0, 1024),
    );
    expect(() => readTarGz(cut, 'model.tar.gz')).toThrow(/model\.tar\.gz ends inside an entry/);
  });
});
