import { gunzipSync, gzipSync } from 'node:zlib';
import { InputError } from '../../core/errors.ts';

/**
 * Gzipped tar archives as the managed training job uses them: its source folder
 * (`sagemaker_submit_directory`, built at synth, lib/retraining.ts) and the `model.tar.gz` SageMaker
 * makes of /opt/ml/model. Regular files only; ustar headers, with GNU long names and pax `path`
 * records understood when reading (Python's tarfile and GNU tar write those).
 */
export interface TarEntry {
  /** Path inside the archive, `/`-separated, no leading `./`. */
  readonly name: string;
  readonly data: Uint8Array;
}

const BLOCK = 512;

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function header(name: string, size: number): Buffer {
  if (Buffer.byteLength(name) > 100) throw new InputError(`tar: name longer than 100 bytes: ${name}`);
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 'utf8');
  h.write(octal(0o644, 8), 100, 'ascii'); // mode
  h.write(octal(0, 8), 108, 'ascii'); // uid
  h.write(octal(0, 8), 116, 'ascii'); // gid
  h.write(octal(size, 12), 124, 'ascii');
  h.write(octal(0, 12), 136, 'ascii'); // mtime 0: the same files give the same bytes
  h.write('        ', 148, 'ascii'); // checksum field counts as spaces while summing
  h.write('0', 156, 'ascii'); // regular file
  h.write('ustar\u000000', 257, 'binary');
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return h;
}

/** A gzipped ustar archive of `entries`, in the order given; byte-for-byte the same for the same input. */
export function writeTarGz(entries: readonly TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const { name, data } of entries) {
    parts.push(header(name, data.length), Buffer.from(data));
    const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
    if (pad) parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  // mtime 0 in the gzip header too (zlib writes 0), so the archive hash depends on the content only.
  return gzipSync(Buffer.concat(parts), { level: 9 });
}

function text(block: Buffer, start: number, length: number): string {
  const raw = block.subarray(start, start + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end === -1 ? raw.length : end).toString('utf8');
}

function paxPath(data: Buffer): string | undefined {
  // Records "<length> <key>=<value>\n".
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    if (space === -1) break;
    const length = Number(data.subarray(at, space).toString('ascii'));
    if (!Number.isInteger(length) || length <= 0) break;
    const record = data.subarray(space + 1, at + length - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (record.slice(0, eq) === 'path') return record.slice(eq + 1);
    at += length;
  }
  return undefined;
}

/** The regular files of a gzipped tar archive. A damaged archive is an InputError naming `what`. */
export function readTarGz(archive: Uint8Array, what = 'archive'): TarEntry[] {
  let tar: Buffer;
  try {
    tar = gunzipSync(archive);
  } catch (error) {
    throw new InputError(`${what} is not gzip data: ${(error as Error).message}`, { cause: error });
  }
  const entries: TarEntry[] = [];
  let nextName: string | undefined;
  let at = 0;
  while (at + BLOCK <= tar.length) {
    const block = tar.subarray(at, at + BLOCK);
    if (block.every((b) => b === 0)) break;
    const size = parseInt(text(block, 124, 12).trim() || '0', 8);
    if (!Number.isFinite(size) || size < 0)
      throw new InputError(`${what}: bad size in the entry at byte ${at}`);
    const type = String.fromCharCode(block[156]!);
    const prefix = text(block, 345, 155);
    const data = tar.subarray(at + BLOCK, at + BLOCK + size);
    if (data.length < size) throw new InputError(`${what} ends inside an entry (byte ${at})`);
    at += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'L') {
      nextName = text(data, 0, data.length);
      continue;
    }
    if (type === 'x') {
      nextName = paxPath(data) ?? nextName;
      continue;
    }
    const name = nextName ?? (prefix ? `${prefix}/${text(block, 0, 100)}` : text(block, 0, 100));
    nextName = undefined;
    if (type !== '0' && type !== '\0') continue; // directories, links, global pax headers
    entries.push({ name: name.replace(/^(\.\/)+/, ''), data: new Uint8Array(data) });
  }
  return entries;
}
