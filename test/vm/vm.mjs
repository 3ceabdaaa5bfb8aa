#!/usr/bin/env node
// Real-kernel test bed: boots Debian's cloud kernels (6.1 and 6.12) under
// qemu TCG with every ip_vs module loaded, the reference ipvsadm, iproute2,
// busybox and the host's node, and runs one shell command inside as root with
// the project at /project.
//
//   node test/vm/vm.mjs build [--kernel 6.1|6.12|all] [--force]
//   node test/vm/vm.mjs run   [--kernel 6.1|6.12] [--timeout S] [--smp N] [--mem MB]
//                             [--no-writeback] [--verbose] [--vmlinuz PATH] -- <command>
//   node test/vm/vm.mjs shell [--kernel 6.1|6.12]
//   node test/vm/vm.mjs info  [--kernel 6.1|6.12|all]
//
// See README.md beside this file. Plain Node ESM, no dependencies.

import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, '../..');
export const CACHE = path.join(ROOT, '.cache', 'vm');
/** Exit status for "the bed itself failed" (boot, module load, timeout, ...). */
export const BED_FAILURE = 125;

/** Bump when the layout of the base initramfs or the init script changes. */
const BED_FORMAT = 3;

export const KERNELS = {
  '6.1': { meta: 'linux-image-cloud-amd64', pattern: /^linux-image-6\.1\.\S*-cloud-amd64$/ },
  '6.12': { meta: 'linux-image-6.12-cloud-amd64', pattern: /^linux-image-6\.12\.\S*-cloud-amd64$/ },
};

// Host packages the bed needs (binary or file -> package).
const HOST_PACKAGES = [
  ['qemu-system-x86', '/usr/bin/qemu-system-x86_64'],
  ['busybox-static', '/bin/busybox'],
  ['cpio', '/usr/bin/cpio'],
  ['xz-utils', '/usr/bin/xz'],
  ['kmod', '/usr/sbin/depmod'],
  ['iproute2', '/usr/sbin/ip'],
  ['util-linux', '/usr/bin/unshare'],
  ['dash', '/bin/dash'],
  ['bash', '/bin/bash'],
  ['netbase', '/etc/services'],
  ['binutils', '/usr/bin/strip'],
];

// Debian packages unpacked into the guest userland: the reference ipvsadm and its libraries,
// then keepalived (the traffic scenarios run it) and the libraries it needs that a host need not
// have (libsnmp40 pulls in libpci, libwrap, libsensors and libperl).
const USERLAND_DEBS = ['ipvsadm', 'libnl-3-200', 'libnl-genl-3-200', 'libpopt0',
  'keepalived', 'libnftnl11', 'libsnmp40', 'libpci3', 'libwrap0', 'libsensors5', 'libperl5.36'];

// Kernel modules loaded at boot (plus everything they depend on).
// "ipvs/*" = every module in net/netfilter/ipvs (all schedulers, ftp, pe_sip).
const WANTED_MODULES = ['ipvs/*', 'virtio_pci', 'virtio_console', 'veth', 'dummy', 'bridge', 'ipip', 'tunnel4', 'ip_tunnel', 'sit',
  'fou', 'fou6', 'gre', 'ip_gre', 'ip6_tunnel', 'tunnel6'];
const REQUIRED_MODULES = ['ip_vs', 'ip_vs_rr', 'ip_vs_wrr', 'ip_vs_lc', 'ip_vs_wlc', 'ip_vs_lblc',
  'ip_vs_lblcr', 'ip_vs_dh', 'ip_vs_sh', 'ip_vs_sed', 'ip_vs_nq', 'ip_vs_fo', 'ip_vs_ovf', 'ip_vs_mh',
  'ip_vs_ftp', 'ip_vs_pe_sip', 'veth', 'bridge', 'ipip'];

// ---------------------------------------------------------------- utilities

let verbose = !!process.env.VM_VERBOSE;
export function setVerbose(v) { verbose = v; }
function log(...a) { process.stderr.write(`vm: ${a.join(' ')}\n`); }
function debug(...a) { if (verbose) log(...a); }

export class BedError extends Error {}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 30, ...opts });
  if (r.error) throw new BedError(`${cmd}: ${r.error.message}`);
  if (r.status !== 0 && !opts.allowFail) {
    throw new BedError(`${cmd} ${args.join(' ')} exited ${r.status}: ${(r.stderr || '').toString().trim()}`);
  }
  return r;
}

function sha(...parts) {
  const h = createHash('sha256');
  for (const p of parts) h.update(typeof p === 'string' ? p : JSON.stringify(p));
  return h.digest('hex');
}

function mkdirp(d) { fs.mkdirSync(d, { recursive: true }); }

function secs(ms) { return (ms / 1000).toFixed(1) + ' s'; }

// ------------------------------------------------------------ host packages

function installed(pkg) {
  const r = run('dpkg-query', ['-W', '-f=${Status}', pkg], { allowFail: true });
  return r.status === 0 && /install ok installed/.test(r.stdout);
}

export function ensureHostPackages() {
  const missing = HOST_PACKAGES.filter(([pkg, file]) => !fs.existsSync(file) || !installed(pkg)).map(([p]) => p);
  if (!missing.length) return;
  if (process.getuid && process.getuid() !== 0) {
    throw new BedError(`missing host packages (${missing.join(' ')}); install them as root: apt-get install --no-install-recommends ${missing.join(' ')}`);
  }
  log(`installing host packages: ${missing.join(' ')}`);
  const r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...missing], {
    stdio: ['ignore', 2, 2], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, // keep our stdout clean
  });
  if (r.status !== 0) throw new BedError(`apt-get install ${missing.join(' ')} failed`);
}

// ------------------------------------------------------------ debian packages

function aptStamp() {
  const parts = [];
  for (const f of ['/var/lib/apt/lists', '/var/cache/apt/pkgcache.bin', '/etc/apt/sources.list', '/etc/apt/sources.list.d']) {
    try { const st = fs.statSync(f); parts.push(`${f}:${st.mtimeMs}:${st.size}`); } catch { parts.push(`${f}:-`); }
  }
  return parts.join('|');
}

function aptPolicy(pkgs) {
  const r = run('apt-cache', ['policy', ...pkgs]);
  const out = {};
  for (const block of r.stdout.split(/\n(?=\S)/)) {
    const name = /^(\S+):/.exec(block)?.[1];
    const cand = /Candidate:\s*(\S+)/.exec(block)?.[1];
    if (name && cand && cand !== '(none)') out[name.replace(/:amd64$/, '')] = cand;
  }
  for (const p of pkgs) if (!out[p]) throw new BedError(`apt has no candidate for ${p} (run apt-get update?)`);
  return out;
}

/**
 * Resolve the kernel metapackages to the real linux-image packages, and the
 * candidate versions of everything we download. apt-cache is slow (~0.6 s per
 * call here), so this is done in two calls and cached until the apt lists change.
 */
export function resolvePackages({ fresh = false } = {}) {
  const cacheFile = path.join(CACHE, 'apt-resolve.json');
  const stamp = aptStamp();
  if (!fresh) {
    try {
      const c = JSON.parse(fs.readFileSync(cacheFile, 'utf8'));
      // a package added to USERLAND_DEBS since the cache was written needs resolving too
      if (c.stamp === stamp && c.format === 1 && USERLAND_DEBS.every((p) => c.resolved.userland[p])) return c.resolved;
    } catch { /* resolve */ }
  }
  const metas = Object.values(KERNELS).map((k) => k.meta);
  const dep = run('apt-cache', ['depends', '--no-recommends', '--no-suggests', '--no-conflicts',
    '--no-breaks', '--no-replaces', '--no-enhances', ...metas]).stdout;
  const kernels = {};
  for (const [kernel, k] of Object.entries(KERNELS)) {
    const block = dep.split(/\n(?=\S)/).find((b) => b.startsWith(k.meta + '\n') || b.startsWith(k.meta + ':'));
    const pkg = block && [...block.matchAll(/Depends:\s*(\S+)/g)].map((m) => m[1]).find((p) => k.pattern.test(p));
    if (!pkg) throw new BedError(`cannot resolve ${k.meta} to a linux-image package:\n${dep}`);
    kernels[kernel] = { meta: k.meta, pkg };
  }
  const pol = aptPolicy([...metas, ...Object.values(kernels).map((k) => k.pkg), ...USERLAND_DEBS]);
  for (const k of Object.values(kernels)) { k.metaVersion = pol[k.meta]; k.version = pol[k.pkg]; }
  const resolved = { kernels, userland: Object.fromEntries(USERLAND_DEBS.map((p) => [p, pol[p]])) };
  mkdirp(CACHE);
  fs.writeFileSync(cacheFile, JSON.stringify({ format: 1, stamp, resolved }, null, 2) + '\n');
  return resolved;
}

const DEBS = () => path.join(CACHE, 'debs');

/** apt-get download pkg=version into the cache (once); returns the .deb path. */
function downloadDeb(pkg, version) {
  const dir = DEBS();
  mkdirp(dir);
  const find = () => fs.readdirSync(dir).filter((f) => f.startsWith(pkg + '_') && f.endsWith('.deb'))
    .map((f) => path.join(dir, f))
    .find((f) => {
      const r = run('dpkg-deb', ['-f', f, 'Package', 'Version'], { allowFail: true });
      return r.status === 0 && r.stdout.includes(`Package: ${pkg}\n`) && r.stdout.includes(`Version: ${version}\n`);
    });
  let deb = find();
  if (deb) return deb;
  log(`downloading ${pkg} ${version}`);
  const r = spawnSync('apt-get', ['download', '-o', 'APT::Sandbox::User=root', `${pkg}=${version}`],
    { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new BedError(`apt-get download ${pkg}=${version} failed: ${r.stderr}`);
  deb = find();
  if (!deb) throw new BedError(`apt-get download ${pkg}=${version}: .deb not found in ${dir}`);
  return deb;
}

/** dpkg-deb -x into .cache/vm/x/<name> (once). */
function extractDeb(deb) {
  const dest = path.join(CACHE, 'x', path.basename(deb, '.deb'));
  if (fs.existsSync(path.join(dest, '.extracted'))) return dest;
  fs.rmSync(dest, { recursive: true, force: true });
  mkdirp(dest);
  run('dpkg-deb', ['-x', deb, dest]);
  fs.writeFileSync(path.join(dest, '.extracted'), '');
  return dest;
}

// ------------------------------------------------------------ cpio (newc) writer

const FIXED_MTIME = 946684800; // 2000-01-01: project files; the write-back stamp is one second later

/**
 * Minimal newc cpio writer. Entries: {name, type: 'dir'|'file'|'symlink'|'chr', mode, data|src|target, mtime}.
 * Parent directories are added automatically.
 */
export class Cpio {
  constructor() { this.entries = new Map(); this.ino = 1; }
  #parents(name) {
    const parts = name.split('/');
    for (let i = 1; i < parts.length; i++) {
      const d = parts.slice(0, i).join('/');
      if (!this.entries.has(d)) this.entries.set(d, { name: d, type: 'dir', mode: 0o755 });
    }
  }
  add(e) {
    e.name = e.name.replace(/^\/+/, '');
    this.#parents(e.name);
    this.entries.set(e.name, e);
  }
  dir(name, mode = 0o755, mtime) { this.add({ name, type: 'dir', mode, mtime }); }
  file(name, data, mode = 0o644, mtime) { this.add({ name, type: 'file', mode, data: Buffer.from(data), mtime }); }
  copy(name, src, mode, mtime) {
    const st = fs.statSync(src);
    this.add({ name, type: 'file', mode: mode ?? (st.mode & 0o7777), src, mtime: mtime ?? Math.floor(st.mtimeMs / 1000) });
  }
  symlink(name, target) { this.add({ name, type: 'symlink', mode: 0o777, target }); }
  chr(name, major, minor, mode = 0o600) { this.add({ name, type: 'chr', mode, major, minor }); }
  has(name) { return this.entries.has(name.replace(/^\/+/, '')); }

  /** Serialize; directories first (sorted so parents precede children). */
  toBuffer() {
    const chunks = [];
    let off = 0;
    const push = (b) => { chunks.push(b); off += b.length; };
    const pad = () => { const n = (4 - (off % 4)) % 4; if (n) push(Buffer.alloc(n)); };
    const hdr = (name, mode, size, mtime, rmaj = 0, rmin = 0) => {
      const nameBuf = Buffer.from(name + '\0');
      const f = [this.ino++, mode, 0, 0, 1, mtime >>> 0, size, 0, 0, rmaj, rmin, nameBuf.length, 0];
      push(Buffer.from('070701' + f.map((v) => v.toString(16).padStart(8, '0')).join(''), 'ascii'));
      push(nameBuf);
      pad();
    };
    const all = [...this.entries.values()];
    const dirs = all.filter((e) => e.type === 'dir').sort((a, b) => a.name.localeCompare(b.name));
    const rest = all.filter((e) => e.type !== 'dir').sort((a, b) => a.name.localeCompare(b.name));
    const now = Math.floor(Date.now() / 1000);
    for (const e of [...dirs, ...rest]) {
      const mtime = e.mtime ?? now;
      if (e.type === 'dir') hdr(e.name, 0o040000 | e.mode, 0, mtime);
      else if (e.type === 'chr') hdr(e.name, 0o020000 | e.mode, 0, mtime, e.major, e.minor);
      else if (e.type === 'symlink') {
        const t = Buffer.from(e.target);
        hdr(e.name, 0o120000 | 0o777, t.length, mtime);
        push(t); pad();
      } else {
        const data = e.data ?? fs.readFileSync(e.src);
        hdr(e.name, 0o100000 | e.mode, data.length, mtime);
        push(data); pad();
      }
    }
    hdr('TRAILER!!!', 0, 0, 0);
    const n = (512 - (off % 512)) % 512;
    if (n) push(Buffer.alloc(n));
    return Buffer.concat(chunks);
  }
}

/** Parse a newc archive (used for the guest's write-back). Returns [{name, mode, data}]. */
export function parseCpio(buf) {
  const out = [];
  let off = 0;
  const align = (n) => (n + 3) & ~3;
  while (off + 110 <= buf.length) {
    const magic = buf.toString('ascii', off, off + 6);
    if (magic !== '070701' && magic !== '070702') throw new BedError(`bad cpio magic at ${off}`);
    const field = (i) => parseInt(buf.toString('ascii', off + 6 + i * 8, off + 14 + i * 8), 16);
    const mode = field(1), size = field(6), namesize = field(11);
    const name = buf.toString('utf8', off + 110, off + 110 + namesize - 1);
    off = align(off + 110 + namesize);
    if (name === 'TRAILER!!!') break;
    out.push({ name, mode, data: buf.subarray(off, off + size) });
    off = align(off + size);
  }
  return out;
}

// ------------------------------------------------------------ ELF + libraries

/** Add an ELF binary and every shared library ldd reports for it. */
function addElf(cpio, dest, src, { ldPath = [], rootMap = [], strip = false } = {}) {
  if (strip) {
    const tmp = path.join(CACHE, 'tmp', path.basename(dest) + '.stripped');
    mkdirp(path.dirname(tmp));
    if (!fs.existsSync(tmp) || fs.statSync(tmp).mtimeMs < fs.statSync(src).mtimeMs) {
      run('strip', ['--strip-unneeded', '-o', tmp, src]);
    }
    cpio.copy(dest, tmp, 0o755);
  } else {
    cpio.copy(dest, src);
  }
  const env = { ...process.env, LD_LIBRARY_PATH: ldPath.join(':') };
  const r = run('ldd', [src], { env, allowFail: true });
  if (r.status !== 0) {
    if (/not a dynamic executable/.test(r.stdout + r.stderr)) return;
    throw new BedError(`ldd ${src}: ${r.stderr}`);
  }
  for (const line of r.stdout.split('\n')) {
    let m = /=>\s*(\/\S+)/.exec(line) || /^\s*(\/\S+)\s*\(/.exec(line);
    if (!m) {
      if (/not found/.test(line)) throw new BedError(`ldd ${src}: ${line.trim()}`);
      continue;
    }
    const lib = m[1];
    let guest = lib;
    for (const [hostRoot, guestRoot] of rootMap) {
      if (lib.startsWith(hostRoot + '/')) guest = guestRoot + lib.slice(hostRoot.length);
    }
    if (!cpio.has(guest)) cpio.copy(guest, fs.realpathSync(lib), 0o755);
  }
}

// ------------------------------------------------------------ kernel modules

function parseModulesDep(modDir) {
  const deps = new Map();
  for (const line of fs.readFileSync(path.join(modDir, 'modules.dep'), 'utf8').split('\n')) {
    const m = /^([^:]+):\s*(.*)$/.exec(line);
    if (m) deps.set(m[1], m[2].split(/\s+/).filter(Boolean));
  }
  return deps;
}

const modName = (rel) => path.basename(rel).replace(/\.ko(\.xz|\.zst|\.gz)?$/, '').replace(/-/g, '_');

/** Resolve WANTED_MODULES to files in load order (dependencies first). */
function moduleLoadOrder(modDir) {
  const deps = parseModulesDep(modDir);
  const byName = new Map([...deps.keys()].map((rel) => [modName(rel), rel]));
  const builtin = new Set(fs.readFileSync(path.join(modDir, 'modules.builtin'), 'utf8')
    .split('\n').filter(Boolean).map(modName));
  const roots = [];
  for (const w of WANTED_MODULES) {
    if (w === 'ipvs/*') {
      roots.push(...[...deps.keys()].filter((rel) => rel.startsWith('kernel/net/netfilter/ipvs/')).sort());
    } else if (byName.has(w)) roots.push(byName.get(w));
    else if (!builtin.has(w)) debug(`module ${w} not available in this kernel, skipped`);
  }
  for (const r of REQUIRED_MODULES) {
    if (!byName.has(r) && !builtin.has(r)) throw new BedError(`required module ${r} missing in ${modDir}`);
  }
  const order = [];
  const seen = new Set();
  const visit = (rel) => {
    if (seen.has(rel)) return;
    seen.add(rel);
    for (const d of deps.get(rel) || []) visit(d);
    order.push(rel);
  };
  roots.forEach(visit);
  return order;
}

// ------------------------------------------------------------ guest init

function initScript() {
  // Runs as PID 1 under busybox sh. Channels to the host: /dev/ttyS0 = kernel
  // console (a file, for diagnostics); /dev/ttyS1 (raw) = early control channel
  // (a file, read when the VM died before the command); after the modules are
  // loaded, a virtio-serial port (the host's stdout pipe, ~100x faster than the
  // emulated UART) carries the markers, the command's output and the write-back.
  return String.raw`#!/bin/busybox sh
export PATH=/sbin:/usr/sbin:/usr/bin:/bin
export HOME=/root TERM=dumb TZ=UTC
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm /run /tmp
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=755 tmpfs /run
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
hostname vmbed
NONCE=$(cat /vm/nonce)
MODE=$(cat /vm/mode)
if [ "$MODE" = shell ]; then
  exec 3>/dev/null
else
  stty -F /dev/ttyS1 raw -echo -echoe -echok -echoctl -echoke
  exec 3>/dev/ttyS1
fi
mark() { printf '@@VMBED:%s:%s@@\n' "$NONCE" "$*" >&3; }
fail() {
  mark "FAIL $*"
  exec 3>&-
  sync
  poweroff -f
  sleep 5
  reboot -f
}
mark "INFO kernel $(uname -r) up $(cut -d' ' -f1 /proc/uptime)"
n=0
while read -r m; do
  err=$(insmod "/lib/modules/$(uname -r)/$m" 2>&1) || fail "insmod $m: $err"
  n=$((n+1))
done < /vm/modules.list
[ -e /proc/net/ip_vs ] || fail "/proc/net/ip_vs missing after loading ip_vs"
/sbin/ip link set lo up || fail "ip link set lo up"
mark "INFO modules $n loaded up $(cut -d' ' -f1 /proc/uptime)"
if [ "$MODE" != shell ]; then
  port=
  for d in /sys/class/virtio-ports/*; do
    [ "$(cat "$d/name" 2>/dev/null)" = vmbed.out ] && port=/dev/$(basename "$d")
  done
  [ -n "$port" ] && [ -c "$port" ] || fail "virtio port vmbed.out not found"
  exec 3>"$port"
fi
cd /project || fail "no /project"
if [ "$MODE" = shell ]; then
  echo "vm shell: kernel $(uname -r), project at /project; exit to power off"
  setsid cttyhack /bin/sh -l
  poweroff -f
fi
mark "BEGIN $(cut -d' ' -f1 /proc/uptime)"
# The command's stdout+stderr go through a fifo (not a tty), merged in order.
mkfifo /run/vmbed.out
cat /run/vmbed.out >&3 &
catpid=$!
/bin/sh /vm/cmd.sh </dev/null >/run/vmbed.out 2>&1
rc=$?
# Background processes the command left behind may still hold the fifo open:
# give them a moment, then kill everything (kill -1 spares only init).
i=0
while kill -0 $catpid 2>/dev/null && [ $i -lt 30 ]; do sleep 0.1; i=$((i+1)); done
if kill -0 $catpid 2>/dev/null; then
  kill -9 -1
  stray=1
fi
wait $catpid 2>/dev/null
mark "END $rc $(cut -d' ' -f1 /proc/uptime)"
[ -n "$stray" ] && mark "WARN the command left background processes holding its output open; they were killed"
if [ -e /vm/writeback ]; then
  cd /project
  find . -newer /vm/stamp \( -type f -o -type l \) ! -path './node_modules/*' ! -path './dist/*' > /run/wb.list
  if [ -s /run/wb.list ]; then
    cpio -o -H newc < /run/wb.list > /run/wb.cpio 2>/dev/null || fail "write-back: cpio failed"
    mark "WB $(wc -c < /run/wb.cpio)"
    cat /run/wb.cpio >&3
  fi
fi
mark "DONE"
exec 3>&-
sync
poweroff -f
sleep 5
reboot -f
`;
}

// ------------------------------------------------------------ bed build

function bedDir(kernel) { return path.join(CACHE, kernel); }

function fileId(f) {
  const st = fs.statSync(f);
  return `${f}:${st.size}:${Math.floor(st.mtimeMs)}`;
}

function pkgVersion(pkg) {
  const r = run('dpkg-query', ['-W', '-f=${Version}', pkg], { allowFail: true });
  return r.status === 0 ? r.stdout : null;
}

function nodeAddons() {
  const p = path.join(ROOT, 'node_modules', 'netlink', 'prebuilds', 'linux-x64', 'node.napi.node');
  return fs.existsSync(p) ? [p] : [];
}

/** Everything that determines the content of a bed (except the kernel, resolved separately). */
function localInputs() {
  return {
    format: BED_FORMAT,
    // the builder's own code: editing how the bed is assembled rebuilds it
    code: sha(initScript(), buildBed.toString(), addElf.toString(), moduleLoadOrder.toString(), Cpio.toString()),
    modules: WANTED_MODULES,
    node: fileId('/usr/bin/node'),
    hostPkgs: Object.fromEntries(['busybox-static', 'iproute2', 'util-linux', 'dash', 'netbase', 'libc6', 'libstdc++6']
      .map((p) => [p, pkgVersion(p)])),
    addons: nodeAddons().map(fileId),
  };
}

/** Read a built bed's manifest (or null). */
export function readBed(kernel) {
  try { return JSON.parse(fs.readFileSync(path.join(bedDir(kernel), 'bed.json'), 'utf8')); } catch { return null; }
}

/**
 * Make sure the bed for `kernel` is built and current. Re-resolves the kernel
 * package through apt (cheap); rebuilds only when an input changed.
 */
export function ensureBed(kernel, { force = false } = {}) {
  ensureHostPackages();
  if (!KERNELS[kernel]) throw new BedError(`unknown kernel ${kernel} (choose ${Object.keys(KERNELS).join(', ')})`);
  let resolved;
  try {
    resolved = resolvePackages({ fresh: force });
  } catch (e) {
    const old = readBed(kernel);
    if (old && !force) { log(`warning: ${e.message}; using the cached bed (${old.kernel.pkg} ${old.kernel.version})`); return old; }
    throw e;
  }
  const kpkg = resolved.kernels[kernel];
  const userland = resolved.userland;
  const inputs = { kernel: kpkg, userland, local: localInputs() };
  const key = sha(inputs);
  const old = readBed(kernel);
  if (!force && old && old.key === key && fs.existsSync(old.initrd) && fs.existsSync(old.vmlinuz)) return old;
  return buildBed(kernel, inputs, key);
}

function buildBed(kernel, inputs, key) {
  const t0 = Date.now();
  const { kernel: kpkg, userland } = inputs;
  log(`building bed for ${kernel}: ${kpkg.pkg} ${kpkg.version}`);
  const kroot = extractDeb(downloadDeb(kpkg.pkg, kpkg.version));
  const kvers = fs.readdirSync(path.join(kroot, 'lib', 'modules'));
  if (kvers.length !== 1) throw new BedError(`expected one module tree in ${kroot}, found ${kvers}`);
  const kver = kvers[0];
  const modDir = path.join(kroot, 'lib', 'modules', kver);
  if (!fs.existsSync(path.join(modDir, 'modules.dep'))) run('depmod', ['-b', kroot, kver]);
  const vmlinuzSrc = path.join(kroot, 'boot', `vmlinuz-${kver}`);

  const uroots = USERLAND_DEBS.map((p) => extractDeb(downloadDeb(p, userland[p])));
  const ldPath = uroots.flatMap((r) => [path.join(r, 'lib', 'x86_64-linux-gnu'), path.join(r, 'usr', 'lib', 'x86_64-linux-gnu')])
    .filter((d) => fs.existsSync(d));
  const rootMap = uroots.map((r) => [r, '']);

  const c = new Cpio();
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'lib', 'lib64', 'etc', 'proc', 'sys', 'dev', 'tmp', 'run', 'root', 'project', 'vm', 'var/tmp', 'mnt']) c.dir(d);
  c.dir('tmp', 0o1777);
  c.dir('var/tmp', 0o1777);
  c.dir('root', 0o700);
  c.chr('dev/console', 5, 1);
  c.chr('dev/null', 1, 3, 0o666);

  // busybox: every applet as a symlink in /bin, except those we ship for real.
  c.copy('bin/busybox', '/bin/busybox', 0o755);
  const real = new Set(['busybox', 'ip', 'sh', 'unshare', 'nsenter', 'init', 'linuxrc']);
  const applets = run('/bin/busybox', ['--list']).stdout.split('\n').filter(Boolean);
  for (const a of applets) if (!real.has(a)) c.symlink(`bin/${a}`, 'busybox');
  // /bin/sh is dash, so `ip`, `unshare` ... in shell commands resolve through
  // PATH to the real tools (busybox sh would prefer its own applets).
  addElf(c, 'bin/dash', '/bin/dash');
  c.symlink('bin/sh', 'dash');
  c.symlink('bin/ash', 'busybox');
  // Debian's ipvsadm-save and ipvsadm-restore are bash scripts.
  addElf(c, 'bin/bash', '/bin/bash');
  // `#!/usr/bin/env node` scripts (our bin/) need env where every distribution has it.
  c.symlink('usr/bin/env', '../../bin/busybox');
  // iproute2 (real `ip`, also for `ip netns` and veth peers)
  addElf(c, 'sbin/ip', fs.realpathSync('/usr/sbin/ip'));
  c.symlink('usr/sbin/ip', '../../sbin/ip');
  c.symlink('bin/ip', '../sbin/ip');
  // util-linux unshare/nsenter (busybox's are also there as `busybox unshare`)
  addElf(c, 'usr/bin/unshare', '/usr/bin/unshare');
  addElf(c, 'usr/bin/nsenter', '/usr/bin/nsenter');
  // the reference ipvsadm 1.31 and its libraries
  const ipvsRoot = uroots[0];
  addElf(c, 'sbin/ipvsadm', path.join(ipvsRoot, 'sbin', 'ipvsadm'), { ldPath, rootMap });
  for (const s of ['ipvsadm-save', 'ipvsadm-restore']) c.copy(`sbin/${s}`, path.join(ipvsRoot, 'sbin', s));
  // keepalived, managing IPVS beside our ipvsadm in the keepalived scenario
  const kaRoot = uroots[USERLAND_DEBS.indexOf('keepalived')];
  addElf(c, 'usr/sbin/keepalived', path.join(kaRoot, 'usr', 'sbin', 'keepalived'), { ldPath, rootMap });
  // node (strip --strip-unneeded: same code, 12 MB smaller) and the addon's libraries
  addElf(c, 'usr/bin/node', '/usr/bin/node', { strip: true });
  for (const a of nodeAddons()) {
    const r = run('ldd', [a]);
    for (const m of r.stdout.matchAll(/=>\s*(\/\S+)/g)) if (!c.has(m[1])) c.copy(m[1], fs.realpathSync(m[1]), 0o755);
  }
  // /etc
  c.file('etc/passwd', 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n');
  c.file('etc/group', 'root:x:0:\nnogroup:x:65534:\n');
  c.file('etc/hosts', '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n');
  c.file('etc/nsswitch.conf', 'passwd: files\ngroup: files\nhosts: files\nnetworks: files\nprotocols: files\nservices: files\n');
  c.file('etc/hostname', 'vmbed\n');
  c.copy('etc/services', '/etc/services', 0o644);
  c.copy('etc/protocols', '/etc/protocols', 0o644);
  c.file('etc/profile', 'export PATH=/sbin:/usr/sbin:/usr/bin:/bin\nexport PS1="vm# "\n');
  c.dir('etc/iproute2');
  c.dir('var/run/netns');
  c.dir('run/netns');

  // kernel modules (decompressed so busybox insmod can load them)
  const order = moduleLoadOrder(modDir);
  const guestOrder = [];
  const depLines = [];
  const deps = parseModulesDep(modDir);
  const strip = (rel) => rel.replace(/\.(xz|zst|gz)$/, '');
  for (const rel of order) {
    const src = path.join(modDir, rel);
    let data;
    if (rel.endsWith('.xz')) data = run('xz', ['-dc', src], { encoding: 'buffer' }).stdout;
    else if (rel.endsWith('.zst')) data = run('zstd', ['-dc', src], { encoding: 'buffer' }).stdout;
    else data = fs.readFileSync(src);
    c.file(`lib/modules/${kver}/${strip(rel)}`, data, 0o644);
    guestOrder.push(strip(rel));
    depLines.push(`${strip(rel)}: ${(deps.get(rel) || []).map(strip).join(' ')}`);
  }
  c.file(`lib/modules/${kver}/modules.dep`, depLines.join('\n') + '\n');
  for (const f of ['modules.builtin', 'modules.order', 'modules.builtin.modinfo']) {
    const p = path.join(modDir, f);
    if (fs.existsSync(p)) c.copy(`lib/modules/${kver}/${f}`, p, 0o644);
  }
  c.file('vm/modules.list', guestOrder.join('\n') + '\n');
  c.file('init', initScript(), 0o755);

  const dir = bedDir(kernel);
  mkdirp(dir);
  const raw = c.toBuffer();
  const initrd = path.join(dir, 'base.cpio');
  fs.writeFileSync(initrd + '.tmp', raw);
  fs.renameSync(initrd + '.tmp', initrd);
  const vmlinuz = path.join(dir, 'vmlinuz');
  fs.copyFileSync(vmlinuzSrc, vmlinuz);
  const bed = {
    key, kernel: { ...kpkg, release: kver }, userland, initrd, vmlinuz, initrdBytes: raw.length,
    modules: guestOrder.map((r) => modName(r)), builtAt: new Date().toISOString(), buildMs: Date.now() - t0,
  };
  fs.writeFileSync(path.join(dir, 'bed.json'), JSON.stringify(bed, null, 2) + '\n');
  log(`bed ${kernel} ready: ${kver}, ${guestOrder.length} modules, initramfs ${(raw.length / 1048576).toFixed(1)} MiB, built in ${secs(bed.buildMs)}`);
  return bed;
}

// ------------------------------------------------------------ project archive

/** Packages needed at run time: closure of dependencies + devDependencies, minus build tools. */
const EXCLUDED_DEV = [/^typescript$/, /^vitest$/, /^@vitest\//, /^vite$/, /^@types\//, /^esbuild$/, /^@esbuild\//,
  /^rollup$/, /^@rollup\//, /^rolldown$/, /^@rolldown\//];

function nodeModuleClosure() {
  if (process.env.VM_ALL_NODE_MODULES) return null; // null = everything
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const roots = [...Object.keys(pkg.dependencies || {}), ...Object.keys(pkg.devDependencies || {})]
    .filter((n) => !EXCLUDED_DEV.some((re) => re.test(n)));
  const dirs = new Set();
  const visit = (name, fromDir) => {
    // node resolution: nearest node_modules upwards from the requiring package
    let d = fromDir;
    for (;;) {
      const cand = path.join(d, 'node_modules', name);
      if (fs.existsSync(path.join(cand, 'package.json'))) {
        if (dirs.has(cand)) return;
        dirs.add(cand);
        const p = JSON.parse(fs.readFileSync(path.join(cand, 'package.json'), 'utf8'));
        for (const dep of Object.keys({ ...(p.dependencies || {}), ...(p.optionalDependencies || {}) })) {
          if (!EXCLUDED_DEV.some((re) => re.test(dep))) visit(dep, cand);
        }
        return;
      }
      if (d === ROOT || d === path.dirname(d)) return;
      d = path.dirname(d);
      if (!d.startsWith(ROOT)) return;
    }
  };
  for (const r of roots) visit(r, ROOT);
  return dirs;
}

/** Build the per-run archive: /project, /vm/cmd.sh, /vm/nonce, /vm/mode, /vm/stamp. */
function projectCpio({ command, nonce, mode, writeback }) {
  const c = new Cpio();
  const skipTop = new Set(['.git', '.cache', 'node_modules', 'coverage']);
  const nm = path.join(ROOT, 'node_modules');
  const keepModules = fs.existsSync(nm) ? nodeModuleClosure() : null;
  const walk = (hostDir, guestDir, filter) => {
    for (const ent of fs.readdirSync(hostDir, { withFileTypes: true })) {
      if (ent.name === 'node_modules' && keepModules) continue; // nested ones come through the closure
      const h = path.join(hostDir, ent.name);
      const g = `${guestDir}/${ent.name}`;
      if (filter && !filter(h, ent)) continue;
      if (ent.isSymbolicLink()) c.add({ name: g, type: 'symlink', target: fs.readlinkSync(h), mtime: FIXED_MTIME });
      else if (ent.isDirectory()) { c.dir(g, 0o755, FIXED_MTIME); walk(h, g); }
      else if (ent.isFile()) c.copy(g, h, undefined, FIXED_MTIME);
    }
  };
  walk(ROOT, 'project', (h, ent) => !skipTop.has(ent.name) && !ent.name.endsWith('.log'));
  if (fs.existsSync(nm)) {
    c.dir('project/node_modules', 0o755, FIXED_MTIME);
    if (keepModules === null) walk(nm, 'project/node_modules');
    else {
      for (const d of keepModules) walk(d, 'project/' + path.relative(ROOT, d).split(path.sep).join('/'));
    }
    // auto-created parents (scoped packages, nested node_modules) get the fixed mtime too
    for (const e of c.entries.values()) if (e.type === 'dir' && e.name.startsWith('project')) e.mtime = FIXED_MTIME;
  }
  c.dir('project', 0o755, FIXED_MTIME);
  c.file('vm/cmd.sh', command + '\n', 0o755);
  c.file('vm/nonce', nonce + '\n');
  c.file('vm/mode', mode + '\n');
  c.file('vm/stamp', '', 0o644, FIXED_MTIME + 1);
  if (writeback) c.file('vm/writeback', '');
  return c.toBuffer();
}

// ------------------------------------------------------------ boot + run

function alive(pid) {
  try { process.kill(pid, 0); return true; } catch (e) { return e.code === 'EPERM'; }
}

/** Remove run directories left behind by processes that died (not the --keep ones). */
function cleanStaleRuns() {
  const dir = path.join(CACHE, 'runs');
  if (!fs.existsSync(dir)) return;
  for (const e of fs.readdirSync(dir)) {
    const pid = Number(e.split('-')[0]);
    if (pid && !alive(pid)) fs.rmSync(path.join(dir, e), { recursive: true, force: true });
  }
}

/**
 * One VM at a time on this host (2 cores): a pid lock file in the system's temporary directory,
 * shared by every clone (a lock in each clone's cache let a CI clone and a bench boot together).
 * VM_NO_LOCK=1 skips it.
 */
async function acquireVmLock() {
  if (process.env.VM_NO_LOCK) return () => {};
  const lock = path.join(os.tmpdir(), 'ipvsadm-node-vm.lock');
  let warned = false;
  for (;;) {
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
      return () => {
        try { if (fs.readFileSync(lock, 'utf8') === String(process.pid)) fs.rmSync(lock); } catch { /* gone */ }
      };
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
    }
    let pid = 0;
    try { pid = Number(fs.readFileSync(lock, 'utf8')); } catch { /* racing */ }
    if (pid && alive(pid) && pid !== process.pid) {
      if (!warned) { log(`waiting for the VM of pid ${pid} to finish (one VM at a time; VM_NO_LOCK=1 skips this)`); warned = true; }
      await new Promise((r) => setTimeout(r, 1000));
    } else {
      try { fs.rmSync(lock); } catch { /* racing */ }
    }
  }
}

/**
 * Boot the bed for `kernel` and run `command` (a /bin/sh script) in /project.
 * Resolves to { status, bootMs, cmdMs, totalMs, guestBoot, error, writeback: [files] }.
 * status is the command's exit status, or BED_FAILURE (with .error) if the bed failed.
 * Output of the command is passed to onOutput(Buffer) (default: stdout).
 */
export async function runInVm(kernel, command, opts = {}) {
  const {
    timeout = 600, smp = Number(process.env.VM_SMP || 2), mem = Number(process.env.VM_MEM || 2048),
    writeback = true, onOutput = (b) => process.stdout.write(b), vmlinuz: vmlinuzOverride,
    mode = 'run', bed: bedIn,
    bootTimeout = Number(process.env.VM_BOOT_TIMEOUT || 240), bootRetries = Number(process.env.VM_BOOT_RETRIES ?? 2),
  } = opts;
  const t0 = Date.now();
  const bed = bedIn || ensureBed(kernel);
  const vmlinuz = vmlinuzOverride || bed.vmlinuz;
  const nonce = randomBytes(6).toString('hex');
  cleanStaleRuns();
  const runDir = path.join(CACHE, 'runs', `${process.pid}-${nonce}`);
  const unlock = await acquireVmLock();
  try {
    // A boot that never reaches the command is the emulator's or the guest kernel's
    // hang, not a result: CI once lost 30 minutes to one (6.1, never reached BEGIN).
    // Boot again, a bounded number of times, and say so; the command runs once.
    const hung = [];
    for (;;) {
      const res = await boot();
      if (!res.bootHung || mode !== 'run' || hung.length >= bootRetries) {
        res.hungBoots = hung;
        return res;
      }
      // How far init got (its last mark) and the console's last line: enough to tell a kernel
      // that never started init from one stuck loading modules.
      const lastMark = res.initLog.trim().split('\n').pop() || 'none';
      hung.push(`${res.error}; init's last mark: ${lastMark}; console: ${res.consoleLast || '(empty)'}`);
      log(`warning: ${kernel}: ${res.error}; booting again (${hung.length} of ${bootRetries})\n${res.diagnostics}`);
    }
  } finally {
    unlock();
  }
  async function boot() {
    mkdirp(runDir);
    const initrd = path.join(runDir, 'initrd.cpio');
    const proj = projectCpio({ command, nonce, mode, writeback: writeback && mode === 'run' });
    fs.copyFileSync(bed.initrd, initrd);
    fs.appendFileSync(initrd, proj);
    const consoleLog = path.join(runDir, 'console.log');
    const earlyLog = path.join(runDir, 'early.log');
    const append = ['console=ttyS0', ...(process.env.VM_BOOTLOG ? ['ignore_loglevel', 'initcall_debug'] : ['quiet', 'loglevel=4']), 'panic=-1', 'oops=panic', 'rdinit=/init',
      'mitigations=off', 'random.trust_cpu=on', 'nokaslr', '8250.nr_uarts=2', 'tsc=reliable', 'no_timer_check'];
    const args = [
      '-accel', 'tcg,thread=multi', '-M', 'pc', '-cpu', 'max', '-smp', String(smp), '-m', String(mem),
      '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
      '-kernel', vmlinuz, '-initrd', initrd, '-append', append.join(' '),
    ];
    if (mode === 'shell') {
      args.push('-chardev', 'stdio,id=con,mux=on,signal=off', '-serial', 'chardev:con', '-mon', 'chardev=con,mode=readline');
    } else {
      args.push('-chardev', `file,id=con,path=${consoleLog}`, '-serial', 'chardev:con',
        '-chardev', `file,id=early,path=${earlyLog}`, '-serial', 'chardev:early',
        '-device', 'virtio-serial-pci,id=vs0',
        '-chardev', 'stdio,id=out,signal=off', '-device', 'virtserialport,bus=vs0.0,chardev=out,name=vmbed.out');
    }
    debug(`qemu-system-x86_64 ${args.join(' ')}`);
    const tStart = Date.now();
    // stdin is a pipe we never write to nor close: on EOF the stdio chardev would
    // report "disconnected" and the guest's writes to the virtio port would block.
    const child = spawn('qemu-system-x86_64', args, { stdio: mode === 'shell' ? 'inherit' : ['pipe', 'pipe', 'pipe'] });
    const onSig = () => { try { child.kill('SIGKILL'); } catch { /* gone */ } };
    process.once('SIGINT', onSig);
    process.once('SIGTERM', onSig);

    const res = { status: BED_FAILURE, kernel, release: bed.kernel.release, bootMs: null, cmdMs: null, totalMs: null,
      guestBoot: null, error: null, writeback: [], initLog: '' };
    if (mode === 'shell') {
      const code = await new Promise((r) => child.on('exit', (c) => r(c)));
      process.removeListener('SIGINT', onSig);
      process.removeListener('SIGTERM', onSig);
      fs.rmSync(runDir, { recursive: true, force: true });
      res.status = code === 0 ? 0 : BED_FAILURE;
      return res;
    }

    let qemuErr = '';
    child.stderr.on('data', (d) => { qemuErr += d; });
    const pfx = Buffer.from(`@@VMBED:${nonce}:`);
    const endTok = Buffer.from(`@@VMBED:${nonce}:END `);
    let state = 'pre';
    let buf = Buffer.alloc(0);
    let tBegin = 0;
    let wbSize = -1;
    let done = false;
    const readMark = () => {
      // expects buf to start with pfx; returns the marker text or null if incomplete
      const e = buf.indexOf('@@\n', pfx.length);
      if (e < 0) return null;
      const text = buf.toString('utf8', pfx.length, e);
      buf = buf.subarray(e + 3);
      return text;
    };
    const handle = (text) => {
      const [kind, ...rest] = text.split(' ');
      if (kind === 'WARN') log(`warning (guest): ${rest.join(' ')}`);
    else if (kind === 'INFO') { res.initLog += rest.join(' ') + '\n'; debug(`guest: ${rest.join(' ')}`); }
      else if (kind === 'FAIL') { res.error = `guest init failed: ${rest.join(' ')}`; }
      else if (kind === 'BEGIN') { state = 'cmd'; tBegin = Date.now(); res.bootMs = tBegin - tStart; res.guestBoot = Number(rest[0]); }
      else if (kind === 'END') { state = 'post'; res.cmdMs = Date.now() - tBegin; res.status = Number(rest[0]); res.ended = true; }
      else if (kind === 'WB') { wbSize = Number(rest[0]); state = 'wb'; }
      else if (kind === 'DONE') { done = true; state = 'done'; }
    };
    const process1 = () => {
      for (;;) {
        if (state === 'pre' || state === 'post') {
          const i = buf.indexOf(pfx);
          if (i < 0) { if (state === 'pre') res.initLog += buf.toString('utf8', 0, Math.max(0, buf.length - pfx.length)); buf = buf.subarray(Math.max(0, buf.length - pfx.length)); return; }
          if (i > 0 && state === 'pre') res.initLog += buf.toString('utf8', 0, i);
          buf = buf.subarray(i);
          const t = readMark();
          if (t === null) return;
          handle(t);
        } else if (state === 'cmd') {
          const i = buf.indexOf(endTok);
          if (i < 0) {
            const keep = Math.min(buf.length, endTok.length - 1);
            if (buf.length > keep) onOutput(Buffer.from(buf.subarray(0, buf.length - keep)));
            buf = buf.subarray(buf.length - keep);
            return;
          }
          if (i > 0) onOutput(Buffer.from(buf.subarray(0, i)));
          buf = buf.subarray(i);
          const t = readMark();
          if (t === null) return;
          handle(t);
        } else if (state === 'wb') {
          if (buf.length < wbSize) return;
          res.wbData = Buffer.from(buf.subarray(0, wbSize));
          buf = buf.subarray(wbSize);
          state = 'post';
        } else return;
      }
    };
    child.stdout.on('data', (d) => { buf = buf.length ? Buffer.concat([buf, d]) : d; process1(); });

    let timedOut = false;
    let bootHung = false;
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeout * 1000);
    // Guests reach the command in ~10 s (guest uptime 6-9 s); far beyond that is a hang.
    const bootTimer = setTimeout(() => { if (state === 'pre') { bootHung = true; child.kill('SIGKILL'); } },
      Math.min(bootTimeout, timeout) * 1000);
    const exitCode = await new Promise((r) => child.on('close', (code, sig) => r(sig ? sig : code)));
    clearTimeout(timer);
    clearTimeout(bootTimer);
    process.removeListener('SIGINT', onSig);
    process.removeListener('SIGTERM', onSig);
    res.totalMs = Date.now() - t0;
    if (state === 'cmd' && buf.length) onOutput(Buffer.from(buf)); // flush held-back tail
    // early channel (ttyS1): kernel/module messages, and failures before the virtio port was up
    let early = '';
    try { early = fs.readFileSync(earlyLog, 'latin1'); } catch { /* none */ }
    const earlyInfo = [];
    for (const m of early.matchAll(new RegExp(`@@VMBED:${nonce}:(\\S+) ?(.*?)@@\n`, 'g'))) {
      if (m[1] === 'FAIL' && !res.error) res.error = `guest init failed: ${m[2]}`;
      else if (m[1] === 'INFO') { earlyInfo.push(m[2]); debug(`guest: ${m[2]}`); }
    }
    res.initLog = earlyInfo.join('\n') + (earlyInfo.length ? '\n' : '') + res.initLog;

    const consoleTail = () => {
      let s = '';
      try { s = fs.readFileSync(consoleLog, 'utf8'); } catch { /* none */ }
      return s.split('\n').slice(-40).join('\n');
    };
    if (bootHung) {
      res.error = `the guest did not reach the command within ${Math.min(bootTimeout, timeout)} s of starting (boot hung)`;
      res.bootHung = true;
      res.consoleLast = consoleTail().trim().split('\n').pop();
    } else if (timedOut) res.error = `timed out after ${timeout} s (${res.ended ? 'after' : state === 'cmd' ? 'while running' : 'before'} the command)`;
    else if (!res.error && !res.ended) res.error = `VM stopped before the command finished (qemu exit ${exitCode})${qemuErr ? ': ' + qemuErr.trim() : ''}`;
    else if (!res.error && !done) res.error = `VM stopped before the write-back finished (qemu exit ${exitCode})`;
    if (res.error) {
      res.status = BED_FAILURE;
      res.diagnostics = `--- init log ---\n${res.initLog.trim()}\n--- kernel console (tail) ---\n${consoleTail()}\n--- qemu stderr ---\n${qemuErr.trim()}`;
    } else if (res.wbData) {
      for (const f of parseCpio(res.wbData)) {
        const rel = path.normalize(f.name).replace(/^(\.\/)+/, '');
        if (rel.startsWith('..') || path.isAbsolute(rel)) continue;
        const dest = path.join(ROOT, rel);
        mkdirp(path.dirname(dest));
        if ((f.mode & 0o170000) === 0o120000) { fs.rmSync(dest, { force: true }); fs.symlinkSync(f.data.toString(), dest); }
        else { fs.writeFileSync(dest, f.data); fs.chmodSync(dest, f.mode & 0o777); }
        res.writeback.push(rel);
      }
    }
    if (!opts.keep) fs.rmSync(runDir, { recursive: true, force: true });
    else {
      const kept = path.join(CACHE, 'runs', `kept-${path.basename(runDir)}-${Date.now()}`);
      fs.renameSync(runDir, kept);
      log(`run files kept in ${kept}`);
    }
    return res;
  }
}

// ------------------------------------------------------------ CLI

function parseArgs(argv) {
  const o = { _: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') { o.command = argv.slice(i + 1); break; }
    const m = /^--([^=]+)(?:=(.*))?$/.exec(a);
    if (m) {
      const flag = m[1];
      if (['force', 'verbose', 'no-writeback', 'keep', 'help'].includes(flag)) o[flag] = true;
      else o[flag] = m[2] ?? argv[++i];
    } else o._.push(a);
  }
  return o;
}

const USAGE = `usage:
  node test/vm/vm.mjs build [--kernel 6.1|6.12|all] [--force]
  node test/vm/vm.mjs run [--kernel 6.1|6.12] [--timeout S] [--smp N] [--mem MB]
                          [--no-writeback] [--keep] [--verbose] [--vmlinuz PATH] -- <command>
  node test/vm/vm.mjs shell [--kernel 6.1|6.12]
  node test/vm/vm.mjs info [--kernel 6.1|6.12|all]
The command runs as root under /bin/sh (dash) in /project; its stdout+stderr are
relayed to stdout and its exit status becomes ours. ${BED_FAILURE} = the bed failed.`;

async function main(argv) {
  const o = parseArgs(argv);
  if (o.verbose) setVerbose(true);
  const sub = o._[0];
  if (!sub || o.help) { process.stderr.write(USAGE + '\n'); return sub ? 0 : 2; }
  const kernels = (k, dflt) => (!k ? dflt : k === 'all' ? Object.keys(KERNELS) : [k]);
  if (sub === 'build') {
    for (const k of kernels(o.kernel, Object.keys(KERNELS))) ensureBed(k, { force: !!o.force });
    return 0;
  }
  if (sub === 'info') {
    for (const k of kernels(o.kernel, Object.keys(KERNELS))) {
      const b = readBed(k);
      process.stdout.write(b ? `${k}: ${b.kernel.pkg} ${b.kernel.version} (${b.kernel.release}), initramfs ${(b.initrdBytes / 1048576).toFixed(1)} MiB, ${b.modules.length} modules, built ${b.builtAt}\n` : `${k}: not built\n`);
    }
    return 0;
  }
  if (sub === 'run' || sub === 'shell') {
    const kernel = o.kernel || '6.12';
    if (!KERNELS[kernel]) throw new BedError(`unknown kernel ${kernel}`);
    let command = (o.command || o._.slice(1)).join(' ');
    if (sub === 'run' && !command.trim()) throw new BedError('no command given (use: run -- <command>)');
    if (o.vmlinuz && !fs.existsSync(o.vmlinuz)) throw new BedError(`--vmlinuz ${o.vmlinuz}: no such file`);
    const res = await runInVm(kernel, command, {
      timeout: Number(o.timeout || 600), smp: o.smp ? Number(o.smp) : undefined, mem: o.mem ? Number(o.mem) : undefined,
      writeback: !o['no-writeback'], vmlinuz: o.vmlinuz, keep: !!o.keep, mode: sub,
    });
    if (res.error) {
      log(`ERROR (${kernel}): ${res.error}`);
      process.stderr.write(res.diagnostics + '\n');
      return BED_FAILURE;
    }
    for (const f of res.writeback) log(`wrote back ${f}`);
    debug(`${kernel} (${res.release}): boot ${secs(res.bootMs)} (guest uptime ${res.guestBoot} s at command start), command ${secs(res.cmdMs)}, total ${secs(res.totalMs)}, exit ${res.status}`);
    return res.status;
  }
  process.stderr.write(USAGE + '\n');
  return 2;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e) => {
    process.stderr.write(`vm: ERROR: ${e instanceof BedError ? e.message : e.stack}\n`);
    process.exitCode = BED_FAILURE;
  });
}
