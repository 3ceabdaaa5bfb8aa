// Proves the VM test bed (test/vm/) works: runs inside the guest only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { release } from 'node:os';
import type { RawNetlinkSocket as RawSocket, RawNetlinkSocketOptions } from 'netlink/dist/raw.js';

const require = createRequire(import.meta.url);

/** Runs a /bin/sh (dash) script and returns its status and merged output. */
function sh(script: string): { status: number | null; out: string } {
  const r = spawnSync('/bin/sh', ['-c', script], { encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

const SCHEDULERS = ['rr', 'wrr', 'lc', 'wlc', 'lblc', 'lblcr', 'dh', 'sh', 'sed', 'nq', 'fo', 'ovf', 'mh'];
const is612 = release().startsWith('6.12.');

test('runs as root', () => {
  assert.equal(process.getuid?.(), 0);
});

test('the kernel has IPVS (/proc/net/ip_vs)', () => {
  assert.ok(existsSync('/proc/net/ip_vs'));
});

test('every ip_vs module is loaded', () => {
  const loaded = new Set(readFileSync('/proc/modules', 'utf8').split('\n').map((l) => l.split(' ')[0]));
  const want = ['ip_vs', ...SCHEDULERS.map((s) => `ip_vs_${s}`), 'ip_vs_ftp', 'ip_vs_pe_sip'];
  if (is612) want.push('ip_vs_twos');
  const missing = want.filter((m) => !loaded.has(m));
  assert.deepEqual(missing, [], `not loaded: ${missing.join(' ')}`);
});

test('the reference ipvsadm lists (-L -n)', () => {
  const r = spawnSync('ipvsadm', ['-L', '-n'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^IP Virtual Server version 1\.2\.1 \(size=\d+\)\n/);
});

test('the reference ipvsadm adds and saves a service in a fresh netns', () => {
  const r = sh("unshare -n sh -c 'ip link set lo up && ipvsadm -A -t 10.0.0.1:80 -s rr && ipvsadm -S -n'");
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /^-A -t 10\.0\.0\.1:80 -s rr$/m);
});

test('the fresh netns starts empty (the previous case left no trace)', () => {
  const r = sh("unshare -n sh -c 'ip link set lo up && ipvsadm -S -n'");
  assert.equal(r.status, 0, r.out);
  assert.equal(r.out, '');
});

test('every scheduler can be used', () => {
  const scheds = is612 ? [...SCHEDULERS, 'twos'] : SCHEDULERS;
  const cmds = scheds.map((s, i) => `ipvsadm -A -t 10.0.0.1:${1000 + i} -s ${s}`).join(' && ');
  const r = sh(`unshare -n sh -c 'ip link set lo up && ${cmds} && ipvsadm -S -n'`);
  assert.equal(r.status, 0, r.out);
  for (const [i, s] of scheds.entries()) assert.match(r.out, new RegExp(`^-A -t 10\\.0\\.0\\.1:${1000 + i} -s ${s}$`, 'm'));
});

test('`ip` is iproute2 (netns and veth work)', () => {
  const r = sh('ip -V && ip netns add bedtest && ip link add va type veth peer name vb netns bedtest'
    + ' && ip -n bedtest link show vb >/dev/null; s=$?; ip link del va 2>/dev/null; ip netns del bedtest; exit $s');
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /iproute2/);
});

test('the netlink addon loads and opens a generic netlink socket that resolves IPVS', async (t) => {
  const { RawNetlinkSocket } = require('netlink/dist/raw.js') as { RawNetlinkSocket: typeof RawSocket };
  const sock = new RawNetlinkSocket(16, { messagePeeking: false, msgBufferSize: 65536 } as RawNetlinkSocketOptions);
  try {
    // CTRL_CMD_GETFAMILY "IPVS": nlmsghdr + genlmsghdr + CTRL_ATTR_FAMILY_NAME
    const name = Buffer.from('IPVS\0');
    const attrLen = 4 + name.length;
    const msg = Buffer.alloc(16 + 4 + ((attrLen + 3) & ~3));
    msg.writeUInt32LE(msg.length, 0);
    msg.writeUInt16LE(0x10, 4); // GENL_ID_CTRL
    msg.writeUInt16LE(0x1 | 0x4, 6); // NLM_F_REQUEST | NLM_F_ACK
    msg.writeUInt32LE(1, 8);
    msg.writeUInt8(3, 16); // CTRL_CMD_GETFAMILY
    msg.writeUInt8(1, 17);
    msg.writeUInt16LE(attrLen, 20);
    msg.writeUInt16LE(2, 22); // CTRL_ATTR_FAMILY_NAME
    name.copy(msg, 24);
    const reply = new Promise<Buffer>((resolve, reject) => {
      sock.once('message', (m: Buffer) => resolve(m));
      sock.once('error', reject);
    });
    sock.send(msg);
    const m = await reply;
    assert.equal(m.readUInt16LE(4), 0x10, 'reply from GENL_ID_CTRL');
    let off = 20;
    let familyId = -1;
    while (off + 4 <= m.readUInt32LE(0)) {
      const len = m.readUInt16LE(off);
      if (len < 4) break;
      if ((m.readUInt16LE(off + 2) & 0x3fff) === 1) familyId = m.readUInt16LE(off + 4); // CTRL_ATTR_FAMILY_ID
      off += (len + 3) & ~3;
    }
    assert.ok(familyId >= 0x10, `IPVS family id ${familyId}`);
    t.diagnostic(`IPVS genl family id 0x${familyId.toString(16)} on ${release()}`);
  } finally {
    sock.close();
  }
});
