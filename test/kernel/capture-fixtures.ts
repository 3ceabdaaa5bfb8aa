/**
 * Captures byte fixtures from the real kernel (run inside the VM as root, in a fresh netns):
 * builds a table with the reference ipvsadm, then records every datagram the kernel sends our
 * handle for each query. Output: fixtures/kernel-<x.y>/<name>.hex, one datagram per line.
 * Usage: node dist/test/kernel/capture-fixtures.js [outdir]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GenlHandle } from '../../src/kernel/handle.js';
import { openNetlinkTransport } from '../../src/kernel/transport.js';
import { AF_INET, AF_INET6, ipvsRequest, serviceConfig, type IpvsRequest } from '../../src/index.js';
import { kernelRelease, loopbackUp, recordingTransport, ref, refOk } from './helpers.js';

const version = (/^(\d+\.\d+)/.exec(kernelRelease()) ?? [])[1] ?? 'unknown';
const outDir = process.argv[2] ?? join('fixtures', `kernel-${version}`);

let recording: Uint8Array[] = [];

async function capture(handle: GenlHandle, name: string, req: IpvsRequest): Promise<void> {
  recording = [];
  try {
    await handle.request(req);
  } catch {
    // error replies are fixtures too
  }
  writeFileSync(join(outDir, `${name}.hex`), recording.map((d) => Buffer.from(d).toString('hex')).join('\n') + '\n');
}

loopbackUp();
refOk(['-C']);
// The table every fixture describes; test/unit/wire.fixtures.test.ts expects exactly this.
for (const args of [
  ['-A', '-t', '10.0.0.1:80', '-s', 'rr', '-p', '100', '-M', '255.255.255.0', '--pe', 'sip'],
  ['-a', '-t', '10.0.0.1:80', '-r', '192.168.1.1:8080', '-m', '-w', '5', '-x', '100', '-y', '10'],
  ['-a', '-t', '10.0.0.1:80', '-r', '192.168.1.2', '-i', '--tun-type', 'gue', '--tun-port', '6080', '--tun-csum'],
  ['-a', '-t', '10.0.0.1:80', '-r', '192.168.1.3', '-i', '--tun-type', 'gre', '--tun-csum'],
  ['-A', '-u', '[2001:db8::1]:53', '-o', '-p', '-M', '64'],
  ['-a', '-u', '[2001:db8::1]:53', '-r', '[2001:db8::2]:5353', '-m', '-w', '2'],
  ['-A', '-f', '4000000000', '-s', 'sh', '-b', 'sh-port,sh-fallback'],
  ['--set', '10', '20', '30'],
  ['--start-daemon', 'master', '--mcast-interface', 'lo', '--syncid', '3', '--sync-maxlen', '1400', '--mcast-group', '239.0.0.1', '--mcast-port', '1234', '--mcast-ttl', '3'],
]) {
  refOk(args);
}
mkdirSync(outDir, { recursive: true });
const handle = await GenlHandle.open({ transport: recordingTransport(openNetlinkTransport(), (d) => recording.push(d)) });
const tcp = { family: AF_INET, protocol: 6, address: '10.0.0.1', port: 80 } as const;
await capture(handle, 'get-info', ipvsRequest.getInfo());
await capture(handle, 'service-dump', ipvsRequest.getServices());
await capture(handle, 'service-get', ipvsRequest.getService(tcp));
await capture(handle, 'dest-dump-tcp', ipvsRequest.getDests(tcp));
await capture(handle, 'dest-dump-udp6', ipvsRequest.getDests({ family: AF_INET6, protocol: 17, address: '2001:db8::1', port: 53 }));
await capture(handle, 'daemon-dump', ipvsRequest.getDaemons());
await capture(handle, 'config-get', ipvsRequest.getConfig());
await capture(handle, 'error-eexist', ipvsRequest.newService(tcp, serviceConfig(AF_INET)));
await capture(handle, 'error-esrch', ipvsRequest.delService({ ...tcp, address: '10.0.0.99' }));
await capture(handle, 'ack-zero', ipvsRequest.zero());
handle.close();
refOk(['--stop-daemon', 'master']);
refOk(['--set', '900', '120', '300']);
ref(['-C']);
process.stdout.write(`captured fixtures into ${outDir}\n`);
