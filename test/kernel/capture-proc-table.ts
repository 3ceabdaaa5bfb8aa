/**
 * Captures /proc/net/ip_vs beside netlink's real-server dumps of the same table (run inside
 * the VM as root, in a fresh netns): fixtures/kernel-<x.y>/proc-table.json holds the file's
 * text and, per service, the datagrams of its IPVS_CMD_GET_DEST dump as hex.
 * test/unit/wire.proc-table.test.ts checks that both describe the same real servers.
 * Usage: node dist/test/kernel/capture-proc-table.js [outdir]
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GenlHandle } from '../../src/kernel/handle.js';
import { openNetlinkTransport } from '../../src/kernel/transport.js';
import { decodeService, ipvsRequest, type ServiceKey } from '../../src/index.js';
import { kernelRelease, loopbackUp, recordingTransport, ref, refOk } from './helpers.js';

const version = (/^(\d+\.\d+)/.exec(kernelRelease()) ?? [])[1] ?? 'unknown';
const outDir = process.argv[2] ?? join('fixtures', `kernel-${version}`);

let recording: Uint8Array[] = [];

loopbackUp();
refOk(['-C']);
// Every forwarding method, both families, mixed-family tunnels, firewall marks (one mark in
// both families), weights 0 and 2^31-1, a service without real servers.
for (const args of [
  ['-A', '-t', '10.0.0.1:80', '-s', 'rr', '-p', '100', '-M', '255.255.255.0'],
  ['-a', '-t', '10.0.0.1:80', '-r', '192.168.1.1:8080', '-m', '-w', '5', '-x', '100', '-y', '10'],
  ['-a', '-t', '10.0.0.1:80', '-r', '192.168.1.2', '-g', '-w', '0'],
  ['-a', '-t', '10.0.0.1:80', '-r', '192.168.1.3', '-i', '--tun-type', 'gue', '--tun-port', '6080'],
  ['-A', '-t', '10.0.0.2:443'],
  ['-a', '-t', '10.0.0.2:443', '-r', '172.16.0.1:443', '-g', '-w', '2147483647'],
  ['-a', '-t', '10.0.0.2:443', '-r', '172.16.0.2:8443', '-m'],
  ['-A', '-u', '[2001:db8::1]:53', '-o', '-p', '-M', '64'],
  ['-a', '-u', '[2001:db8::1]:53', '-r', '[2001:db8::2]:5353', '-m', '-w', '2'],
  ['-a', '-u', '[2001:db8::1]:53', '-r', '[2001:db8:0:1:1:1:1:1]:53', '-g'],
  ['-A', '--sctp-service', '10.0.0.9:9', '-s', 'wrr'],
  ['-a', '--sctp-service', '10.0.0.9:9', '-r', '10.9.9.9:99', '-m', '-w', '3'],
  ['-A', '-f', '7', '-s', 'sh', '-b', 'sh-port'],
  ['-a', '-f', '7', '-r', '10.1.1.1', '-g'],
  ['-A', '-f', '7', '-6', '-s', 'wlc'],
  ['-a', '-f', '7', '-6', '-r', '[2001:db8::7]:0', '-g'],
  ['-A', '-f', '4000000000', '-s', 'lc'],
  ['-A', '-f', '9', '-6'],
  ['-a', '-f', '9', '-6', '-r', '192.168.5.5', '-i'],
]) {
  refOk(args);
}
mkdirSync(outDir, { recursive: true });
const handle = await GenlHandle.open({ transport: recordingTransport(openNetlinkTransport(), (d) => recording.push(d)) });
const keys: ServiceKey[] = [];
await handle.requestEach(ipvsRequest.getServices(), (attrs) => keys.push(decodeService(attrs, false).key));
const proc = readFileSync('/proc/self/net/ip_vs', 'latin1');
const services: { key: ServiceKey; dests: string[] }[] = [];
for (const key of keys) {
  recording = [];
  await handle.request(ipvsRequest.getDests(key));
  services.push({ key, dests: recording.map((d) => Buffer.from(d).toString('hex')) });
}
handle.close();
ref(['-C']);
writeFileSync(join(outDir, 'proc-table.json'), `${JSON.stringify({ proc, services }, null, 1)}\n`);
process.stdout.write(`captured ${services.length} services into ${outDir}/proc-table.json\n`);
