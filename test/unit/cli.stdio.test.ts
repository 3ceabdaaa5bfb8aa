import { closeSync, openSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';

// Records which built-in modules stdio.ts asks for, to see when it reaches for the tty module.
const required: string[] = [];
const getBuiltinModule = process.getBuiltinModule.bind(process);
vi.spyOn(process, 'getBuiltinModule').mockImplementation(((id: string) => {
  required.push(id);
  return getBuiltinModule(id);
}) as typeof process.getBuiltinModule);

const { deviceMajor, stdioMode } = await import('../../src/cli/stdio.js');

/** glibc's makedev(). */
const makedev = (major: number, minor: number): number =>
  (major & 0xfff) * 2 ** 8 + (major & ~0xfff) * 2 ** 32 + (minor & 0xff) + (minor & ~0xff) * 2 ** 12;

describe('stdioMode', () => {
  const opened: number[] = [];
  const open = (path: string, flags: string): number => {
    const fd = openSync(path, flags);
    opened.push(fd);
    return fd;
  };
  afterEach(() => {
    for (const fd of opened.splice(0)) closeSync(fd);
    required.length = 0;
  });

  it('splits device numbers as glibc major() does', () => {
    expect(deviceMajor(makedev(1, 3))).toBe(1);
    expect(deviceMajor(makedev(136, 5))).toBe(136);
    expect(deviceMajor(makedev(5, 2))).toBe(5);
    expect(deviceMajor(makedev(0x1234, 0x56789))).toBe(0x1234);
    expect(deviceMajor(makedev(1, 0x56789))).toBe(1);
  });

  it('takes /dev/null for a block-buffered file without loading the tty module', () => {
    expect(stdioMode(open('/dev/null', 'w'))).toEqual({ tty: false, block: 4096 });
    expect(required).not.toContain('node:tty');
  });

  it('asks the tty module about other character devices: a pseudo-terminal master is a terminal', () => {
    expect(stdioMode(open('/dev/ptmx', 'r+'))).toEqual({ tty: true, block: undefined });
    expect(required).toContain('node:tty');
  });

  it('takes a descriptor that cannot be examined for neither', () => {
    const fd = openSync('/dev/null', 'r');
    closeSync(fd);
    expect(stdioMode(fd)).toEqual({ tty: false, block: undefined });
  });
});
