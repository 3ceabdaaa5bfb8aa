import { execFileSync, spawnSync } from 'node:child_process';
import { Ipvs } from '../../src/index.js';
import type { Transport } from '../../src/kernel/transport.js';

/** What one run of the reference ipvsadm (Debian's C binary in the VM) printed. */
export interface RefRun {
  stdout: string;
  stderr: string;
  status: number | null;
}

/** Runs Debian's ipvsadm, the reference, with `args` (and optional stdin). */
export function ref(args: string[], input?: string): RefRun {
  const r = spawnSync('ipvsadm', args, { encoding: 'utf8', input, maxBuffer: 1 << 30 });
  if (r.error) throw r.error;
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

/** Runs the reference and fails loudly unless it exits 0. */
export function refOk(args: string[], input?: string): string {
  const r = ref(args, input);
  if (r.status !== 0) throw new Error(`ipvsadm ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** The reference's `ipvsadm -S -n`, as lines. */
export function refSave(): string[] {
  return refOk(['-S', '-n']).split('\n').filter((l) => l !== '');
}

/** Sorted copy, for comparing tables whose order is the kernel's hash order. */
export function sorted(lines: string[]): string[] {
  return [...lines].sort();
}

/** Brings loopback up: without it masquerading destinations fail with EINVAL in a fresh netns. */
export function loopbackUp(): void {
  execFileSync('ip', ['link', 'set', 'lo', 'up']);
}

/** Opens our library and empties the namespace's table, timeouts and daemons. */
export async function openClean(): Promise<Ipvs> {
  loopbackUp();
  const ipvs = await Ipvs.open();
  await reset(ipvs);
  return ipvs;
}

/** Puts IPVS of this namespace back to a fresh kernel's state. */
export async function reset(ipvs: Ipvs): Promise<void> {
  await ipvs.flush();
  await ipvs.setTimeouts({ tcp: 900, tcpFin: 120, udp: 300 });
  for (const d of await ipvs.daemons()) await ipvs.stopDaemon(d.state, d.syncId);
}

/** The running kernel's release, e.g. "6.1.0-28-cloud-amd64". */
export function kernelRelease(): string {
  return execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim();
}

/** `inner` with a copy of every datagram the kernel sends handed to `record`, read by the event loop or inline. */
export function recordingTransport(inner: Transport, record: (datagram: Uint8Array) => void): Transport {
  const receiveNow = inner.receiveNow;
  return {
    ...inner,
    onDatagram(listener) {
      inner.onDatagram((d) => {
        record(Uint8Array.from(d));
        listener(d);
      });
    },
    ...(receiveNow && {
      receiveNow() {
        const d = receiveNow();
        if (d) record(Uint8Array.from(d));
        return d;
      },
    }),
  };
}
