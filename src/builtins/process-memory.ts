import fs from 'node:fs';
import os from 'node:os';

/** The auxiliary vector entry that carries the page size (AT_PAGESZ in <elf.h>). */
const AT_PAGESZ = 6;
/** Used only when /proc/self/auxv cannot be read: the page size of x86-64 and of most arm64 kernels. */
const FALLBACK_PAGE_SIZE = 4096;

let cachedPageSize: number | undefined;

/**
 * The kernel's page size, which /proc/self/statm counts in. Node has no API for it; the kernel hands it to
 * every process in the auxiliary vector, pairs of native words (key, value).
 */
export function pageSize(): number {
  if (cachedPageSize === undefined) cachedPageSize = readPageSize();
  return cachedPageSize;
}

function readPageSize(): number {
  let auxv: Buffer;
  try {
    auxv = fs.readFileSync('/proc/self/auxv');
  } catch {
    return FALLBACK_PAGE_SIZE;
  }
  const word = ['x64', 'arm64', 'ppc64', 's390x', 'riscv64', 'loong64', 'mips64el'].includes(process.arch) ? 8 : 4;
  const little = os.endianness() === 'LE';
  const read = (offset: number): number =>
    word === 8
      ? Number(little ? auxv.readBigUInt64LE(offset) : auxv.readBigUInt64BE(offset))
      : little
        ? auxv.readUInt32LE(offset)
        : auxv.readUInt32BE(offset);
  for (let offset = 0; offset + 2 * word <= auxv.length; offset += 2 * word) {
    if (read(offset) === AT_PAGESZ) return read(offset + word);
  }
  return FALLBACK_PAGE_SIZE;
}

/**
 * This process's virtual and resident size from /proc/self/statm ("size resident shared text lib data
 * dt", in pages). The file stays open and is re-read from offset 0 into one buffer, so a reading costs
 * one pread and allocates nothing.
 */
export class StatmReader {
  vszBytes = 0;
  rssBytes = 0;
  private fd: number | undefined;
  // statm is 7 numbers of at most 20 digits each.
  private readonly buffer = Buffer.alloc(256);

  constructor(
    private readonly path = '/proc/self/statm',
    private readonly pageBytes = pageSize(),
  ) {}

  /** Updates vszBytes and rssBytes; throws when the file cannot be read. */
  read(): void {
    if (this.fd === undefined) this.fd = fs.openSync(this.path, 'r');
    const length = fs.readSync(this.fd, this.buffer, 0, this.buffer.length, 0);
    let field = 0;
    let value = 0;
    let inNumber = false;
    for (let i = 0; i <= length && field < 2; i++) {
      const c = i < length ? this.buffer[i] : 0x20;
      if (c >= 0x30 && c <= 0x39) {
        value = value * 10 + (c - 0x30);
        inNumber = true;
      } else if (inNumber) {
        if (field === 0) this.vszBytes = value * this.pageBytes;
        else this.rssBytes = value * this.pageBytes;
        field++;
        value = 0;
        inNumber = false;
      }
    }
    if (field < 2) throw new Error(`${this.path}: expected "size resident ...", read ${JSON.stringify(this.buffer.toString('latin1', 0, length))}`);
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }
}
