/**
 * LVS-TUN (`-i`): the real servers sit on another network, behind a router; the director
 * wraps each packet for the VIP in an outer IP header (ipip, or UDP with GUE, or GRE) addressed
 * to the real server, which unwraps it, finds the VIP local (on tunl0) and answers the client
 * directly through the router.
 *
 *   client 192.168.3.10 ─┬─ director 192.168.3.2, VIP 192.168.3.100/32
 *                  [lan] └─ router 192.168.3.1 | 172.16.0.1 ─[far]─┬─ rs1 172.16.0.153, VIP on tunl0
 *                                                                  └─ rs2 172.16.0.154, VIP on tunl0
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Lab, sh, tally, type Agent } from './lab.js';

const VIP = '192.168.3.100';
const SVC = `${VIP}:81`;
const RS1 = '172.16.0.153:81';
const RS2 = '172.16.0.154:81';
const GUE_PORT = 6080;

const lab = new Lab('tun', ['cli', 'dir', 'rt', 'rs1', 'rs2']);
let cli: Agent;
let dir: Agent;
let servers: Agent[];

/** Shell lines: a TUN real server: VIP on tunl0, reverse-path filter off, GUE port, gre0 up. */
function realServer(role: string, addr: string): string {
  const ns = lab.ns(role);
  return [
    lab.plug(role, 'eth0', 'far', `${addr}/24`),
    `ip -n ${ns} route add default via 172.16.0.1`,
    `ip -n ${ns} link set tunl0 up`,
    `ip -n ${ns} addr add ${VIP}/32 dev tunl0`,
    // Unwrapped packets come in on tunl0/gre0 but the way back to the client is eth0.
    ...['all', 'tunl0', 'gre0'].map((d) => lab.sysctl(role, `net.ipv4.conf.${d}.rp_filter`, 0)),
    lab.sysctl(role, 'net.ipv4.conf.tunl0.arp_ignore', 1),
    lab.sysctl(role, 'net.ipv4.conf.tunl0.arp_announce', 2),
    lab.sysctl(role, 'net.ipv4.conf.all.arp_ignore', 1),
    lab.sysctl(role, 'net.ipv4.conf.all.arp_announce', 2),
    `ip -n ${ns} fou add port ${GUE_PORT} gue`,
    `ip -n ${ns} link set gre0 up`,
  ].join('\n');
}

before(async () => {
  lab.create();
  sh(
    [
      lab.bridge('lan'),
      lab.bridge('far'),
      lab.plug('cli', 'eth0', 'lan', '192.168.3.10/24'),
      lab.plug('dir', 'eth0', 'lan', '192.168.3.2/24', `${VIP}/32`),
      `ip -n ${lab.ns('dir')} route add 172.16.0.0/24 via 192.168.3.1`,
      lab.plug('rt', 'eth0', 'lan', '192.168.3.1/24'),
      lab.plug('rt', 'eth1', 'far', '172.16.0.1/24'),
      lab.sysctl('rt', 'net.ipv4.ip_forward', 1),
      realServer('rs1', '172.16.0.153'),
      realServer('rs2', '172.16.0.154'),
    ].join('\n'),
  );
  const [c, d, rs1, rs2] = await lab.start('cli', 'dir', 'rs1', 'rs2');
  [cli, dir, servers] = [c!, d!, [rs1!, rs2!]];
  await rs1!.serve(81, '153');
  await rs2!.serve(81, '154');
});

after(() => lab.close());

/** Packets a real server received on its decapsulating devices and as UDP datagrams. */
async function received(rs: Agent): Promise<{ tunl0: number; gre0: number; udp: number }> {
  const dev = (await rs.exec('cat', '/proc/net/dev')).stdout;
  const rx = (name: string): number => Number(new RegExp(`^\\s*${name}:\\s*\\d+\\s+(\\d+)`, 'm').exec(dev)?.[1] ?? NaN);
  const snmp = (await rs.exec('cat', '/proc/net/snmp')).stdout.split('\n').filter((l) => l.startsWith('Udp: '));
  const names = snmp[0]?.split(/\s+/) ?? [];
  const values = snmp[1]?.split(/\s+/) ?? [];
  return { tunl0: rx('tunl0'), gre0: rx('gre0'), udp: Number(values[names.indexOf('InDatagrams')]) };
}

/** Six requests: they alternate, each real server sees the client itself; returns what each server received meanwhile. */
async function sixRequests(): Promise<{ tunl0: number; gre0: number; udp: number }[]> {
  const before = await Promise.all(servers.map(received));
  const replies = await cli.get(VIP, 81, 6);
  const bodies = replies.map((r) => String(r.body));
  assert.deepEqual(tally(bodies), { 153: 3, 154: 3 }, JSON.stringify(replies));
  for (let i = 1; i < bodies.length; i++) assert.notEqual(bodies[i], bodies[i - 1], bodies.join(' '));
  for (const r of replies) assert.equal(r.seenBy, r.local, 'the real server sees the client itself');
  const afterwards = await Promise.all(servers.map(received));
  return afterwards.map((a, i) => ({ tunl0: a.tunl0 - before[i]!.tunl0, gre0: a.gre0 - before[i]!.gre0, udp: a.udp - before[i]!.udp }));
}

test('the walkthrough: ipip to real servers behind a router', async () => {
  await dir.ok(['-A', '-t', SVC, '-s', 'rr'], true);
  await dir.ok(['-a', '-t', SVC, '-r', '172.16.0.153', '-i'], true);
  await dir.ok(['-a', '-t', SVC, '-r', '172.16.0.154', '-i'], true);
  assert.equal(
    await dir.reference(['-S', '-n']),
    `-A -t ${SVC} -s rr\n-a -t ${SVC} -r ${RS1} -i -w 1 --tun-type ipip\n-a -t ${SVC} -r ${RS2} -i -w 1 --tun-type ipip\n`,
  );
  await dir.sameAsReference(['-L', '-n']);
  for (const d of await sixRequests()) {
    // Three connections of at least three client packets each came in through tunl0, none as UDP.
    assert.ok(d.tunl0 >= 9, `tunl0 received ${d.tunl0} packets`);
    assert.equal(d.gre0, 0);
  }
});

test('gue: the same packets inside UDP to port 6080', async () => {
  for (const rs of [RS1, RS2]) await dir.ok(['-e', '-t', SVC, '-r', rs, '-i', '--tun-type', 'gue', '--tun-port', String(GUE_PORT)]);
  assert.equal(
    await dir.reference(['-S', '-n']),
    `-A -t ${SVC} -s rr\n` +
      `-a -t ${SVC} -r ${RS1} -i -w 1 --tun-type gue --tun-port ${GUE_PORT} --tun-nocsum\n` +
      `-a -t ${SVC} -r ${RS2} -i -w 1 --tun-type gue --tun-port ${GUE_PORT} --tun-nocsum\n`,
  );
  await dir.sameAsReference(['-L', '-n', '--tun-info']);
  for (const d of await sixRequests()) {
    assert.ok(d.udp >= 9, `${d.udp} UDP datagrams`);
    assert.ok(d.tunl0 >= 9, `after GUE, tunl0 unwrapped ${d.tunl0} packets`);
  }
});

test('gre: the same packets inside GRE', async () => {
  // Without checksums: with --tun-csum the real server's gre0 counts every packet as an error
  // and drops it (6.12, veth), whichever ipvsadm configured the destination.
  for (const rs of [RS1, RS2]) await dir.ok(['-e', '-t', SVC, '-r', rs, '-i', '--tun-type', 'gre', '--tun-nocsum']);
  assert.equal(
    await dir.reference(['-S', '-n']),
    `-A -t ${SVC} -s rr\n-a -t ${SVC} -r ${RS1} -i -w 1 --tun-type gre --tun-nocsum\n-a -t ${SVC} -r ${RS2} -i -w 1 --tun-type gre --tun-nocsum\n`,
  );
  await dir.sameAsReference(['-L', '-n', '--tun-info']);
  for (const d of await sixRequests()) {
    assert.ok(d.gre0 >= 9, `gre0 received ${d.gre0} packets`);
    assert.equal(d.udp, 0);
  }
});
