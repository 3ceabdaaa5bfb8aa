import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import {
  AF_INET,
  AF_INET6,
  IP_VS_SVC_F,
  NetlinkError,
  destinationConfig,
  ipvsRequest,
  serviceConfig,
  type Ipvs,
  type IpvsChange,
  type ServiceKey,
} from '../../src/index.js';
import { closeSync, openSync } from 'node:fs';
import { isGenericNetlink, openNetlinkTransport } from '../../src/kernel/transport.js';
import { GENL_ID_CTRL, encodeGetFamily, splitMessages } from '../../src/wire/index.js';
import { openClean, ref, refOk, refSave, reset, sorted } from './helpers.js';

const tcp = (address: string, port: number): ServiceKey => ({ family: AF_INET, protocol: 6, address, port });

/** Asserts that `p` rejects with a NetlinkError of `code` for `operation`. */
async function rejectsWith(p: Promise<unknown>, code: string, operation: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof NetlinkError, `expected NetlinkError, got ${String(e)}`);
    assert.equal(e.code, code);
    assert.equal(e.operation, operation);
    assert.ok(e.errno > 0);
    return true;
  });
}

let ipvs: Ipvs;
before(async () => {
  ipvs = await openClean();
});
beforeEach(async () => {
  await reset(ipvs);
});
after(async () => {
  await reset(ipvs);
  ipvs.close();
});

describe('info', () => {
  test('reports version 1.2.1 and the default table size, as the reference prints', async () => {
    const info = await ipvs.info();
    assert.equal(info.version, 0x010201);
    const header = refOk(['-L', '-n']).split('\n')[0];
    assert.equal(header, `IP Virtual Server version 1.2.1 (size=${info.connTabSize})`);
  });
});

describe('transport', () => {
  for (const ownsDescriptors of [false, true]) {
    test(`takes the next descriptor as its socket and talks to the kernel through it in this thread (ownsDescriptors ${ownsDescriptors})`, () => {
      const probe = openSync('/dev/null', 'r');
      closeSync(probe);
      const transport = openNetlinkTransport({ ownsDescriptors });
      try {
        assert.equal(isGenericNetlink(probe), true);
        assert.ok(transport.sendNow && transport.receiveNow, 'no in-thread half');
        transport.sendNow([encodeGetFamily(4242, 'IPVS')]);
        const datagram = transport.receiveNow();
        assert.ok(datagram, 'no reply queued');
        const [reply] = splitMessages(datagram);
        assert.equal(reply?.seq, 4242);
        assert.equal(reply?.type, GENL_ID_CTRL);
      } finally {
        transport.close();
      }
    });
  }

  test('a descriptor that is not a generic-netlink socket is refused', () => {
    const file = openSync('/dev/null', 'r');
    try {
      assert.equal(isGenericNetlink(file), false);
    } finally {
      closeSync(file);
    }
    assert.equal(isGenericNetlink(file), false);
  });
});

describe('services written by us, read back by the reference', () => {
  test('add: every service option', async () => {
    await ipvs.addService(
      tcp('10.0.0.1', 80),
      serviceConfig(AF_INET, {
        scheduler: 'sh',
        flags: IP_VS_SVC_F.PERSISTENT | IP_VS_SVC_F.SCHED2,
        timeout: 30,
        netmask: { family: AF_INET, mask: 0xffffff00 },
      }),
    );
    await ipvs.addService(
      { family: AF_INET, protocol: 17, address: '10.0.0.2', port: 53 },
      serviceConfig(AF_INET, { scheduler: 'rr', flags: IP_VS_SVC_F.ONEPACKET }),
    );
    await ipvs.addService(
      { family: AF_INET6, protocol: 132, address: '2001:db8::10', port: 9 },
      serviceConfig(AF_INET6, { scheduler: 'wrr', flags: IP_VS_SVC_F.PERSISTENT, timeout: 360, netmask: { family: AF_INET6, prefix: 64 }, pe: 'sip' }),
    );
    await ipvs.addService({ family: AF_INET6, fwmark: 3 }, serviceConfig(AF_INET6, { scheduler: 'lc' }));
    await ipvs.addService({ family: AF_INET, fwmark: 4000000000 }, serviceConfig(AF_INET));
    // Expected lines follow the save format of the spec (section 5.8), fwmark printed signed.
    assert.deepEqual(
      sorted(refSave()),
      sorted([
        '-A -t 10.0.0.1:80 -s sh -p 30 -M 255.255.255.0 -b sh-port',
        '-A -u 10.0.0.2:53 -s rr -o',
        '-A --sctp-service [2001:db8::10]:9 -s wrr -p 360 -M 64 --pe sip',
        '-A -f 3 -6 -s lc',
        '-A -f -294967296 -s wlc',
      ]),
    );
  });

  test('edit replaces the whole configuration', async () => {
    const key = tcp('10.0.0.1', 80);
    await ipvs.addService(key, serviceConfig(AF_INET, { scheduler: 'rr', flags: 1, timeout: 100, pe: 'sip' }));
    await ipvs.editService(key, serviceConfig(AF_INET, { scheduler: 'wrr' }));
    assert.deepEqual(refSave(), ['-A -t 10.0.0.1:80 -s wrr']);
  });

  test('delete, and the errors of a missing or duplicate service', async () => {
    const key = tcp('10.0.0.1', 80);
    await ipvs.addService(key, serviceConfig(AF_INET));
    await rejectsWith(ipvs.addService(key, serviceConfig(AF_INET)), 'EEXIST', 'NEW_SERVICE');
    await ipvs.deleteService(key);
    assert.deepEqual(refSave(), []);
    await rejectsWith(ipvs.deleteService(key), 'ESRCH', 'DEL_SERVICE');
    await rejectsWith(ipvs.editService(key, serviceConfig(AF_INET)), 'ESRCH', 'SET_SERVICE');
    await rejectsWith(ipvs.getService(key), 'ESRCH', 'GET_SERVICE');
  });

  test('unknown scheduler and persistence engine are ENOENT', async () => {
    await rejectsWith(ipvs.addService(tcp('10.0.0.1', 80), serviceConfig(AF_INET, { scheduler: 'nosuch' })), 'ENOENT', 'NEW_SERVICE');
    await rejectsWith(ipvs.addService(tcp('10.0.0.1', 80), serviceConfig(AF_INET, { pe: 'nosuch' })), 'ENOENT', 'NEW_SERVICE');
    assert.deepEqual(refSave(), []);
  });
});

describe('destinations written by us, read back by the reference', () => {
  test('add every forwarding method and tunnel type', async () => {
    const svc = tcp('10.1.0.1', 80);
    await ipvs.addService(svc, serviceConfig(AF_INET, { scheduler: 'wrr' }));
    await ipvs.addDestination(svc, { family: AF_INET, address: '192.168.2.1', port: 8080 }, destinationConfig({ forward: 0, weight: 4 }));
    await ipvs.addDestination(svc, { family: AF_INET, address: '192.168.2.2', port: 80 }, destinationConfig({ forward: 3, weight: 0 }));
    await ipvs.addDestination(
      svc,
      { family: AF_INET, address: '192.168.2.3', port: 80 },
      destinationConfig({ forward: 2, tunnelType: 1, tunnelPort: 6080, tunnelFlags: 2 }),
    );
    await ipvs.addDestination(svc, { family: AF_INET, address: '192.168.2.4', port: 80 }, destinationConfig({ forward: 2, tunnelType: 2, tunnelFlags: 1 }));
    await ipvs.addDestination(svc, { family: AF_INET6, address: '2001:db8::3', port: 80 }, destinationConfig({ forward: 2, tunnelType: 0 }));
    await ipvs.addDestination(
      svc,
      { family: AF_INET, address: '192.168.2.5', port: 80 },
      destinationConfig({ forward: 3, weight: 2147483647, upperThreshold: 100, lowerThreshold: 10 }),
    );
    assert.deepEqual(
      sorted(refSave()),
      sorted([
        '-A -t 10.1.0.1:80 -s wrr',
        '-a -t 10.1.0.1:80 -r 192.168.2.1:8080 -m -w 4',
        '-a -t 10.1.0.1:80 -r 192.168.2.2:80 -g -w 0',
        '-a -t 10.1.0.1:80 -r 192.168.2.3:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-remcsum',
        '-a -t 10.1.0.1:80 -r 192.168.2.4:80 -i -w 1 --tun-type gre --tun-csum',
        '-a -t 10.1.0.1:80 -r [2001:db8::3]:80 -i -w 1 --tun-type ipip',
        '-a -t 10.1.0.1:80 -r 192.168.2.5:80 -g -w 2147483647',
      ]),
    );
    // Thresholds are not in the save format: the reference's --thresholds listing shows them.
    const thresholds = refOk(['-L', '-n', '--thresholds']);
    assert.match(thresholds, /-> 192\.168\.2\.5:80\s+100\s+10\s+0\s+0/);
  });

  test('edit replaces, delete removes, and the kernel errors keep their errno', async () => {
    const svc = tcp('10.1.0.1', 80);
    const rip = { family: AF_INET, address: '192.168.2.1', port: 8080 } as const;
    await rejectsWith(ipvs.addDestination(svc, rip, destinationConfig()), 'ESRCH', 'NEW_DEST');
    await ipvs.addService(svc, serviceConfig(AF_INET));
    await ipvs.addDestination(svc, rip, destinationConfig({ forward: 0, weight: 5, upperThreshold: 9 }));
    await rejectsWith(ipvs.addDestination(svc, rip, destinationConfig({ forward: 0 })), 'EEXIST', 'NEW_DEST');
    await ipvs.editDestination(svc, rip, destinationConfig({ forward: 0, weight: 7 }));
    assert.ok(refSave().includes('-a -t 10.1.0.1:80 -r 192.168.2.1:8080 -m -w 7'));
    await rejectsWith(ipvs.editDestination(svc, rip, destinationConfig({ lowerThreshold: 5 })), 'ERANGE', 'SET_DEST');
    await rejectsWith(ipvs.addDestination(svc, { ...rip, address: '224.0.0.1' }, destinationConfig()), 'EINVAL', 'NEW_DEST');
    await ipvs.deleteDestination(svc, rip);
    await rejectsWith(ipvs.deleteDestination(svc, rip), 'ENOENT', 'DEL_DEST');
    assert.deepEqual(refSave(), ['-A -t 10.1.0.1:80 -s wlc']);
  });
});

describe('tables written by the reference, read by us', () => {
  test('list() returns what ipvsadm wrote, HASHED stripped', async () => {
    refOk(['-A', '-t', '10.2.0.1:80', '-s', 'rr', '-p', '120', '-M', '255.255.0.0', '--pe', 'sip']);
    refOk(['-a', '-t', '10.2.0.1:80', '-r', '192.168.3.1:8080', '-m', '-w', '3', '-x', '50', '-y', '5']);
    refOk(['-a', '-t', '10.2.0.1:80', '-r', '192.168.3.2', '-i', '--tun-type', 'gue', '--tun-port', '5555', '--tun-csum']);
    refOk(['-A', '-u', '[2001:db8::1]:53', '-s', 'sh', '-b', 'sh-fallback', '-o']);
    refOk(['-a', '-u', '[2001:db8::1]:53', '-r', '[2001:db8::2]:53', '-m', '-w', '2']);
    refOk(['-A', '-f', '7', '-6', '-s', 'mh', '-b', 'mh-port']);
    const table = await ipvs.list();
    const byId = new Map(table.map((s) => [JSON.stringify(s.key), s]));
    const a = byId.get(JSON.stringify(tcp('10.2.0.1', 80)));
    assert.ok(a, 'tcp service listed');
    assert.deepEqual(a.config, { scheduler: 'rr', flags: IP_VS_SVC_F.PERSISTENT, timeout: 120, netmask: { family: AF_INET, mask: 0xffff0000 }, pe: 'sip' });
    assert.deepEqual(
      a.destinations.map((d) => [d.key, d.config]).sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y))),
      [
        [{ family: AF_INET, address: '192.168.3.1', port: 8080 }, destinationConfig({ forward: 0, weight: 3, upperThreshold: 50, lowerThreshold: 5 })],
        [{ family: AF_INET, address: '192.168.3.2', port: 80 }, destinationConfig({ forward: 2, tunnelType: 1, tunnelPort: 5555, tunnelFlags: 1 })],
      ],
    );
    const u = byId.get(JSON.stringify({ family: AF_INET6, protocol: 17, address: '2001:db8::1', port: 53 }));
    assert.ok(u, 'udp6 service listed');
    assert.deepEqual(u.config, { scheduler: 'sh', flags: IP_VS_SVC_F.ONEPACKET | IP_VS_SVC_F.SCHED1, timeout: 0, netmask: { family: AF_INET6, prefix: 128 }, pe: '' });
    assert.deepEqual(u.destinations.map((d) => d.key), [{ family: AF_INET6, address: '2001:db8::2', port: 53 }]);
    const f = byId.get(JSON.stringify({ family: AF_INET6, fwmark: 7 }));
    assert.equal(f?.config.scheduler, 'mh');
    assert.equal(f?.config.flags, IP_VS_SVC_F.SCHED2);
    for (const s of table) {
      assert.ok(s.stats64, 'STATS64 present');
      assert.equal(s.stats64.conns, 0n);
    }
    const one = await ipvs.getService(tcp('10.2.0.1', 80));
    assert.deepEqual(one.config, a.config);
  });
});

describe('zero, flush, timeouts, daemons', () => {
  test('zero one service and all', async () => {
    await ipvs.addService(tcp('10.3.0.1', 80), serviceConfig(AF_INET));
    await ipvs.zero(tcp('10.3.0.1', 80));
    await ipvs.zero();
    await rejectsWith(ipvs.zero(tcp('10.3.0.2', 80)), 'ESRCH', 'ZERO');
  });

  test('flush empties the table', async () => {
    refOk(['-A', '-t', '10.3.0.1:80']);
    refOk(['-A', '-f', '1']);
    await ipvs.flush();
    assert.deepEqual(await ipvs.services(), []);
    assert.deepEqual(refSave(), []);
  });

  test('timeouts: set by us, printed by the reference; 0 keeps a value', async () => {
    assert.deepEqual(await ipvs.getTimeouts(), { tcp: 900, tcpFin: 120, udp: 300 });
    await ipvs.setTimeouts({ tcp: 10, tcpFin: 20, udp: 30 });
    assert.equal(refOk(['-L', '--timeout']), 'Timeout (tcp tcpfin udp): 10 20 30\n');
    await ipvs.setTimeouts({ tcp: 0, tcpFin: 5, udp: 0 });
    assert.deepEqual(await ipvs.getTimeouts(), { tcp: 10, tcpFin: 5, udp: 30 });
    refOk(['--set', '11', '12', '13']);
    assert.deepEqual(await ipvs.getTimeouts(), { tcp: 11, tcpFin: 12, udp: 13 });
  });

  test('sync daemons: started by us, listed by the reference, and back', async () => {
    await ipvs.startDaemon({ state: 1, interface: 'lo', syncId: 3, maxLen: 1400, group: '239.0.0.1', port: 1234, ttl: 3 });
    await ipvs.startDaemon({ state: 2, interface: 'lo', syncId: 200 });
    assert.equal(
      refOk(['-L', '--daemon']),
      'master sync daemon (mcast=lo, syncid=3, maxlen=1400, group=239.0.0.1, port=1234, ttl=3)\n' +
        'backup sync daemon (mcast=lo, syncid=200, maxlen=65507, group=224.0.0.81, port=8848, ttl=1)\n',
    );
    const daemons = await ipvs.daemons();
    assert.deepEqual(daemons[0], { state: 1, interface: 'lo', syncId: 3, maxLen: 1400, group: '239.0.0.1', port: 1234, ttl: 3 });
    assert.deepEqual(daemons[1], { state: 2, interface: 'lo', syncId: 200, maxLen: 65507, group: '224.0.0.81', port: 8848, ttl: 1 });
    await rejectsWith(ipvs.startDaemon({ state: 1, interface: 'lo', syncId: 3 }), 'EEXIST', 'NEW_DAEMON');
    await ipvs.stopDaemon(1);
    await ipvs.stopDaemon(2);
    assert.equal(refOk(['-L', '--daemon']), '');
    await rejectsWith(ipvs.stopDaemon(1), 'ESRCH', 'DEL_DAEMON');
    await rejectsWith(ipvs.startDaemon({ state: 1, interface: 'nosuch0', syncId: 0 }), 'ENODEV', 'NEW_DAEMON');
  });
});

describe('pipelined bulk work', () => {
  test('every operation gets its own result, failures at their index', async () => {
    const requests = [];
    const expectFail = new Set<number>();
    for (let i = 0; i < 600; i++) {
      // Every 97th request repeats an earlier service, so the kernel refuses it with EEXIST.
      const n = i % 97 === 96 ? i - 1 : i;
      if (n !== i) expectFail.add(i);
      requests.push({ op: 'add-service' as const, service: tcp(`10.9.${n >> 8}.${n & 255}`, 80), config: serviceConfig(AF_INET) });
    }
    const seen: (string | undefined)[] = [];
    const count = await ipvs.apply(requests, (index, result) => {
      assert.equal(index, seen.length, 'results arrive in order');
      seen.push(result?.code);
    });
    assert.equal(count, 600);
    seen.forEach((code, i) => assert.equal(code, expectFail.has(i) ? 'EEXIST' : undefined, `result ${i}`));
    assert.equal(refSave().length, 600 - expectFail.size);
    assert.equal(ref(['-L', '-n']).status, 0);
  });
});

describe('overlapped real-server dumps', () => {
  test('destinationsOfEach equals one dump per service, in order, over several sockets', async () => {
    const changes: IpvsChange[] = [];
    const keys: ServiceKey[] = [];
    for (let i = 0; i < 60; i++) {
      const key = tcp(`10.7.0.${i + 1}`, 80);
      keys.push(key);
      changes.push({ op: 'add-service', service: key, config: serviceConfig(AF_INET) });
      for (let j = 0; j < i % 7; j++) {
        const dest = { family: AF_INET, address: `172.20.${i}.${j + 1}`, port: 8080 } as const;
        changes.push({ op: 'add-dest', service: key, dest, config: destinationConfig({ weight: j + 1 }) });
      }
    }
    await ipvs.apply(changes, (i, r) => assert.equal(r, undefined, `change ${i}`));
    const seen: number[] = [];
    const lists: string[][] = [];
    await ipvs.destinationsOfEach(keys, (i, dests) => {
      seen.push(i);
      lists.push(dests.map((d) => `${d.key.address}:${d.key.port} w${d.config.weight}`));
    });
    assert.deepEqual(seen, keys.map((_k, i) => i));
    for (const [i, key] of keys.entries()) {
      const one = (await ipvs.destinations(key)).map((d) => `${d.key.address}:${d.key.port} w${d.config.weight}`);
      assert.deepEqual(lists[i], one);
      assert.equal(one.length, i % 7);
    }
  });

  test('a service gone between the service dump and its real servers lists none, as the kernel answers', async () => {
    const keys = [tcp('10.7.1.1', 80), tcp('10.7.1.2', 80), tcp('10.7.1.3', 80)];
    for (const k of keys) {
      await ipvs.addService(k, serviceConfig(AF_INET));
      await ipvs.addDestination(k, { family: AF_INET, address: '172.21.0.1', port: 80 }, destinationConfig());
    }
    await ipvs.deleteService(keys[1] as ServiceKey);
    const counts: number[] = [];
    await ipvs.destinationsOfEach(keys, (_i, d) => counts.push(d.length));
    assert.deepEqual(counts, [1, 0, 1]);
  });
});
