import { describe, expect, it } from 'vitest';
import {
  AF_INET,
  AF_INET6,
  IPVS_CMD,
  decodeDaemon,
  decodeDestination,
  decodeService,
  decodeTimeouts,
  ipvsRequest,
  type IpvsRequest,
  type ServiceKey,
} from '../../src/wire/index.js';
import { destinationConfig, serviceConfig } from '../../src/model/index.js';
import { readTrace, type TracedMessage } from './helpers/strace-dec.js';

const vip: ServiceKey = { family: AF_INET, protocol: 6, address: '10.0.0.1', port: 80 };
const knownServices: ServiceKey[] = [
  vip,
  { family: AF_INET6, protocol: 17, address: '2001:db8::1', port: 53 },
  { family: AF_INET6, fwmark: 7 },
  { family: AF_INET, fwmark: 8 },
];

/** What our library sends for each command of fixtures/strace/commands.sh, built by hand from the spec. */
const expected: Record<string, IpvsRequest[]> = {
  '-A -t 10.0.0.1:80 -s rr -p 100 -M 255.255.255.0 --pe sip -b flag-2': [
    ipvsRequest.newService(
      vip,
      serviceConfig(AF_INET, { scheduler: 'rr', pe: 'sip', flags: 0x11, timeout: 100, netmask: { family: AF_INET, mask: 0xffffff00 } }),
    ),
  ],
  '-A -t 10.0.0.1:80': [ipvsRequest.newService(vip, serviceConfig(AF_INET))],
  '-E -t 10.0.0.1:80 -s wrr': [ipvsRequest.setService(vip, serviceConfig(AF_INET, { scheduler: 'wrr' }))],
  '-A -u [2001:db8::1]:53 -o -p -M 64': [
    ipvsRequest.newService(
      knownServices[1] as ServiceKey,
      serviceConfig(AF_INET6, { flags: 0x5, timeout: 360, netmask: { family: AF_INET6, prefix: 64 } }),
    ),
  ],
  '-A -f 7 -6': [ipvsRequest.newService({ family: AF_INET6, fwmark: 7 }, serviceConfig(AF_INET6))],
  '-A -f 8 -s sh -b sh-port,sh-fallback': [
    ipvsRequest.newService({ family: AF_INET, fwmark: 8 }, serviceConfig(AF_INET, { scheduler: 'sh', flags: 0x18 })),
  ],
  '-a -t 10.0.0.1:80 -r 192.168.1.1:8080 -m -w 5 -x 100 -y 10': [
    ipvsRequest.newDest(
      vip,
      { family: AF_INET, address: '192.168.1.1', port: 8080 },
      destinationConfig({ forward: 0, weight: 5, upperThreshold: 100, lowerThreshold: 10 }),
    ),
  ],
  '-a -t 10.0.0.1:80 -r 192.168.1.2 -i --tun-type gue --tun-port 6080 --tun-csum': [
    ipvsRequest.newDest(
      vip,
      { family: AF_INET, address: '192.168.1.2', port: 80 },
      destinationConfig({ forward: 2, tunnelType: 1, tunnelPort: 6080, tunnelFlags: 1 }),
    ),
  ],
  '-e -t 10.0.0.1:80 -r 192.168.1.1:8080 -m -w 0': [
    ipvsRequest.setDest(vip, { family: AF_INET, address: '192.168.1.1', port: 8080 }, destinationConfig({ forward: 0, weight: 0 })),
  ],
  '-L -n': [ipvsRequest.getServices()],
  '-L -n -t 10.0.0.1:80': [ipvsRequest.getService(vip)],
  '-L -n -f 7 -6': [ipvsRequest.getService({ family: AF_INET6, fwmark: 7 })],
  '-L --timeout': [ipvsRequest.getConfig()],
  '--set 10 20 30': [ipvsRequest.setConfig({ tcp: 10, tcpFin: 20, udp: 30 })],
  // Run twice in the trace (the second one fails with ENOENT).
  '-d -t 10.0.0.1:80 -r 192.168.1.1:8080': [
    ipvsRequest.delDest(vip, { family: AF_INET, address: '192.168.1.1', port: 8080 }),
    ipvsRequest.delDest(vip, { family: AF_INET, address: '192.168.1.1', port: 8080 }),
  ],
  '-Z -t 10.0.0.1:80': [ipvsRequest.zero(vip)],
  '-Z': [ipvsRequest.zero()],
  '-Z -t 0.0.0.0': [ipvsRequest.zero()],
  '-D -t 10.0.0.9:80': [ipvsRequest.delService({ ...vip, address: '10.0.0.9' })],
  '-L -n -t 10.0.0.9:80': [ipvsRequest.getService({ ...vip, address: '10.0.0.9' })],
  '--start-daemon master --mcast-interface lo --syncid 3 --sync-maxlen 1400 --mcast-group 239.0.0.1 --mcast-port 1234 --mcast-ttl 3':
    [ipvsRequest.newDaemon({ state: 1, interface: 'lo', syncId: 3, maxLen: 1400, group: '239.0.0.1', port: 1234, ttl: 3 })],
  '--start-daemon backup --mcast-interface lo': [ipvsRequest.newDaemon({ state: 2, interface: 'lo', syncId: 0 })],
  '-L --daemon': [ipvsRequest.getDaemons()],
  '--stop-daemon master': [ipvsRequest.delDaemon(1, 0)],
  '--stop-daemon backup': [ipvsRequest.delDaemon(2, 0)],
  '-C': [ipvsRequest.flush()],
};

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

for (const kernel of ['6.1', '6.12']) {
  const trace = readTrace(new URL(`../../fixtures/strace/ipvsadm-1.31.kernel-${kernel}.dec`, import.meta.url).pathname);
  const sent = trace.filter((m) => m.direction === 'sendmsg');
  const received = trace.filter((m) => m.direction === 'recvmsg');

  describe(`requests match what ipvsadm 1.31 sent on ${kernel}`, () => {
    it('covers every traced command', () => {
      expect(new Set(sent.map((m) => m.command))).toEqual(new Set(Object.keys(expected)));
    });

    for (const [command, requests] of Object.entries(expected)) {
      it(`ipvsadm ${command}`, () => {
        const ours = sent.filter((m) => m.command === command && m.cmd !== IPVS_CMD.GET_DEST);
        expect(ours.map((m) => m.cmd)).toEqual(requests.map((r) => r.cmd));
        ours.forEach((m, i) => {
          const r = requests[i] as IpvsRequest;
          expect(hex(r.attrs)).toBe(hex(m.attrs));
          expect(r.dump).toBe(m.flags.includes('0x300'));
        });
      });
    }

    it('GET_DEST dumps carry only the service identity', () => {
      const dumps = sent.filter((m) => m.cmd === IPVS_CMD.GET_DEST);
      expect(dumps.length).toBeGreaterThan(0);
      const candidates = knownServices.map((k) => hex(ipvsRequest.getDests(k).attrs));
      for (const d of dumps) expect(candidates).toContain(hex(d.attrs));
    });
  });

  describe(`decoding what the ${kernel} kernel returned`, () => {
    const byCmd = (cmd: number): TracedMessage[] => received.filter((m) => m.cmd === cmd);

    it('services: identity, HASHED stripped, 64-bit stats', () => {
      const services = byCmd(IPVS_CMD.NEW_SERVICE).map((m) => decodeService(m.attrs));
      expect(services.length).toBeGreaterThanOrEqual(4);
      for (const s of services) {
        expect(s.config.flags & 0x2).toBe(0);
        expect(s.stats64).toBeDefined();
        expect(s.stats).toBeDefined();
      }
      const tcp = services.find((s) => 'address' in s.key && s.key.address === '10.0.0.1');
      expect(tcp?.key).toEqual(vip);
      expect(tcp?.config.scheduler).toBe('wrr');
      const udp6 = services.find((s) => 'address' in s.key && s.key.address === '2001:db8::1');
      expect(udp6?.config).toEqual({ scheduler: 'wlc', flags: 0x5, timeout: 360, netmask: { family: AF_INET6, prefix: 64 }, pe: '' });
      const fwm7 = services.find((s) => 'fwmark' in s.key && s.key.fwmark === 7);
      expect(fwm7?.key).toEqual({ family: AF_INET6, fwmark: 7 });
      const fwm8 = services.find((s) => 'fwmark' in s.key && s.key.fwmark === 8);
      expect(fwm8?.config.flags).toBe(0x18);
      expect(fwm8?.config.netmask).toEqual({ family: AF_INET, mask: 0xffffffff });
    });

    it('destinations: forwarding, thresholds, tunnels', () => {
      const dests = byCmd(IPVS_CMD.NEW_DEST).map((m) => decodeDestination(m.attrs, AF_INET));
      const masq = dests.find((d) => d.key.address === '192.168.1.1');
      expect(masq?.key).toEqual({ family: AF_INET, address: '192.168.1.1', port: 8080 });
      // The trace lists after `-e ... -m -w 0`, which reset the thresholds (a full replacement).
      expect(masq?.config).toMatchObject({ forward: 0, weight: 0, upperThreshold: 0, lowerThreshold: 0 });
      const gue = dests.find((d) => d.key.address === '192.168.1.2');
      expect(gue?.config).toMatchObject({ forward: 2, weight: 1, tunnelType: 1, tunnelPort: 6080, tunnelFlags: 1 });
      for (const d of dests) expect(d.stats64).toBeDefined();
    });

    it('daemons and timeouts', () => {
      const daemons = byCmd(IPVS_CMD.NEW_DAEMON).map((m) => decodeDaemon(m.attrs));
      expect(daemons[0]).toEqual({ state: 1, interface: 'lo', syncId: 3, maxLen: 1400, group: '239.0.0.1', port: 1234, ttl: 3 });
      expect(daemons[1]).toMatchObject({ state: 2, interface: 'lo', syncId: 0, group: '224.0.0.81', port: 8848, ttl: 1 });
      const [config] = byCmd(IPVS_CMD.SET_CONFIG).map((m) => decodeTimeouts(m.attrs));
      expect(config).toEqual({ tcp: 900, tcpFin: 120, udp: 300 });
    });
  });
}
