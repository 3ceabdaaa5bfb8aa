import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  AF_INET,
  AF_INET6,
  IP_VS_CONN_F,
  decodeDestination,
  decodeGenlBody,
  isFwmarkKey,
  ProcTable,
  procServiceName,
  splitMessages,
  type DestinationEntry,
  type ServiceKey,
} from '../../src/wire/index.js';

interface Capture {
  proc: string;
  services: { key: ServiceKey; dests: string[] }[];
}

/** /proc/net/ip_vs and the GET_DEST dumps of one table (test/kernel/capture-proc-table.ts). */
function capture(kernel: string): Capture {
  return JSON.parse(readFileSync(new URL(`../../fixtures/kernel-${kernel}/proc-table.json`, import.meta.url), 'utf8')) as Capture;
}

/** What netlink said about a service's real servers, reduced to what /proc/net/ip_vs shows. */
function fromNetlink(key: ServiceKey, datagrams: string[]): DestinationEntry[] {
  return datagrams
    .flatMap((hex) => splitMessages(Uint8Array.from(Buffer.from(hex, 'hex'))))
    .filter((m) => m.type >= 0x10)
    .map((m) => decodeDestination(decodeGenlBody(m.body).attrs, key.family, false))
    .map((d) => ({
      ...d,
      config: { ...d.config, upperThreshold: 0, lowerThreshold: 0, tunnelType: 0, tunnelPort: 0, tunnelFlags: 0 },
      persistentConns: 0,
    }));
}

const header = [
  'IP Virtual Server version 1.2.1 (size=4096)',
  'Prot LocalAddress:Port Scheduler Flags',
  '  -> RemoteAddress:Port Forward Weight ActiveConn InActConn',
].join('\n');

for (const kernel of ['6.1', '6.12']) {
  describe(`/proc/net/ip_vs captured from kernel ${kernel}`, () => {
    const { proc, services } = capture(kernel);
    const table = ProcTable.parse(proc);

    it('names every service the service dump returned', () => {
      expect(services).toHaveLength(8);
      for (const { key } of services) expect(table?.has(procServiceName(key) as string), JSON.stringify(key)).toBe(true);
      expect(table?.size).toBe(7); // firewall mark 7 twice, once per family
    });

    it('gives each service the real servers netlink dumps, except tunnels and a mark of two families', () => {
      let compared = 0;
      for (const { key, dests } of services) {
        const netlink = fromNetlink(key, dests);
        const block = table?.destinations(procServiceName(key) as string);
        const tunnel = netlink.some((d) => d.config.forward === IP_VS_CONN_F.TUNNEL);
        if (tunnel || (isFwmarkKey(key) && key.fwmark === 7)) {
          expect(block, JSON.stringify(key)).toBeUndefined();
          continue;
        }
        expect(block, JSON.stringify(key)).toEqual(netlink);
        compared += netlink.length;
      }
      // Masq and Route, IPv4 and IPv6, weights 0 and 2^31-1 among them.
      expect(compared).toBe(5);
    });
  });
}

describe('ProcTable', () => {
  it('is undefined for text that is not the listing', () => {
    expect(ProcTable.parse('')).toBeUndefined();
    expect(ProcTable.parse('Prot LocalAddress:Port Scheduler Flags\n')).toBeUndefined();
  });

  it('an empty table, and a service without real servers', () => {
    expect(ProcTable.parse(`${header}\n`)?.size).toBe(0);
    const one = ProcTable.parse(`${header}\nTCP  0A000001:0050 wlc \n`);
    expect([one?.size, one?.destinations('TCP  0A000001:0050')]).toEqual([1, []]);
    expect(one?.destinations('TCP  0A000001:0051')).toBeUndefined();
  });

  it('reads the counters as unsigned, as netlink reports them', () => {
    const table = ProcTable.parse(`${header}\nUDP  0A000001:0035 rr \n  -> 0A000002:0035      Local   -1     -2         17        \n`);
    expect(table?.destinations('UDP  0A000001:0035')).toEqual([
      {
        key: { family: AF_INET, address: '10.0.0.2', port: 53 },
        config: { forward: IP_VS_CONN_F.LOCALNODE, weight: -1, upperThreshold: 0, lowerThreshold: 0, tunnelType: 0, tunnelPort: 0, tunnelFlags: 0 },
        activeConns: 4294967294,
        inactiveConns: 17,
        persistentConns: 0,
      },
    ]);
  });

  it('leaves a block to netlink when a line is not what the kernel writes', () => {
    const service = 'TCP  0A000001:0050 wlc ';
    for (const line of [
      '  -> 0A00000G:0050      Masq    1      0          0         ',
      '  -> 0A000002:050       Masq    1      0          0         ',
      '  -> 0A000002:0050      Bypass  1      0          0         ',
      '  -> 0A000002:0050      Masq    1      0                    ',
      '  -> 0A000002:0050      Masq    1      0          0   x     ',
      '  -> 0A000002:0050      Masq    -      0          0         ',
      '  -> [2001:0db8:0000:0000:0000:0000:0000:02]:0050      Masq    1      0          0         ',
    ]) {
      const table = ProcTable.parse(`${header}\n${service}\n${line}\n`);
      expect([table?.has('TCP  0A000001:0050'), table?.destinations('TCP  0A000001:0050')], line).toEqual([true, undefined]);
    }
  });

  it('a name listed twice is left to netlink', () => {
    const text = `${header}\nTCP  0A000001:0050 wlc \nTCP  0A000001:0050 wlc \nUDP  0A000001:0050 wlc \n`;
    const table = ProcTable.parse(text);
    expect(table?.destinations('TCP  0A000001:0050')).toBeUndefined();
    expect(table?.destinations('UDP  0A000001:0050')).toEqual([]);
    table?.forget('UDP  0A000001:0050');
    expect(table?.destinations('UDP  0A000001:0050')).toBeUndefined();
  });
});

describe('procServiceName', () => {
  it('spells addresses, ports and marks as ip_vs_info_seq_show does', () => {
    expect(procServiceName({ family: AF_INET, protocol: 6, address: '10.0.0.1', port: 80 })).toBe('TCP  0A000001:0050');
    expect(procServiceName({ family: AF_INET, protocol: 132, address: '255.1.2.3', port: 65535 })).toBe('SCTP  FF010203:FFFF');
    expect(procServiceName({ family: AF_INET6, protocol: 17, address: '2001:db8::a:1', port: 53 })).toBe(
      'UDP  [2001:0db8:0000:0000:0000:0000:000a:0001]:0035',
    );
    expect(procServiceName({ family: AF_INET6, fwmark: 4000000000 })).toBe('FWM  EE6B2800');
    expect(procServiceName({ family: AF_INET, protocol: 50, address: '10.0.0.1', port: 0 })).toBeUndefined();
  });
});
