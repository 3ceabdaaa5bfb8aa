/**
 * `ipvsadm -R`'s shortcut for the lines ipvsadm-save itself writes with `-n`: an IPv4 TCP/UDP
 * service (`-A … -s <sched> [-p <timeout>]`) or a real server of one (`-a … -r … -m|-g|-i -w <w>`).
 * Such a line becomes its change directly, without the popt emulation, which dominates the time
 * of a big restore. Anything else, or anything unusual within these forms (leading zeros, zero
 * ports, values near a limit), returns undefined and takes the full parser; a property test
 * holds the two equal wherever the shortcut answers.
 */
import { AF_INET, IP_VS_CONN_F, IP_VS_SVC_F, IPPROTO, serviceReference, type ServiceKey } from '../wire/index.js';
import { MAX_TIMEOUT } from './grammar.js';
import type { Modification } from './modifications.js';

const OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]\\d|\\d)';
const IPV4 = `(${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET})`;
/** 1–65535 without leading zeros; the range is checked after the match. */
const PORT = '([1-9]\\d{0,4})';
const SERVICE = `-([tu]) ${IPV4}:${PORT}`;

const ADD_SERVICE = new RegExp(`^-A ${SERVICE} -s ([a-z]{1,15})(?: -p ([1-9]\\d{0,6}))?$`);
const ADD_SERVER = new RegExp(`^-a ${SERVICE} -r ${IPV4}:${PORT} -([mgi]) -w (0|[1-9]\\d{0,8})$`);

/** ipvsadm's rest of the service nest beside a real server, shared: changes are never mutated. */
const REFERENCE = serviceReference(AF_INET);

const FORWARD: Readonly<Record<string, number>> = { m: IP_VS_CONN_F.MASQ, g: IP_VS_CONN_F.DROUTE, i: IP_VS_CONN_F.TUNNEL };

/** The change of a line in ipvsadm-save's numeric form, or undefined for the full parser. */
export function fastModification(line: string): Modification | undefined {
  const c = line.charCodeAt(1);
  if (line.charCodeAt(0) !== 0x2d /* - */) return undefined;
  if (c === 0x61 /* a */) return addServer(line);
  if (c === 0x41 /* A */) return addService(line);
  return undefined;
}

function serviceKey(proto: string, address: string, port: number): ServiceKey {
  return { family: AF_INET, protocol: proto === 't' ? IPPROTO.TCP : IPPROTO.UDP, address, port };
}

function addService(line: string): Modification | undefined {
  const m = ADD_SERVICE.exec(line);
  if (!m) return undefined;
  const [, proto = '', address = '', portText = '', scheduler = '', timeoutText] = m;
  const port = Number(portText);
  const timeout = timeoutText === undefined ? 0 : Number(timeoutText);
  if (port > 65535 || timeout > MAX_TIMEOUT) return undefined;
  const config = serviceReference(AF_INET);
  config.scheduler = scheduler;
  if (timeoutText !== undefined) {
    config.flags = IP_VS_SVC_F.PERSISTENT;
    config.timeout = timeout;
  }
  return { change: { op: 'add-service', service: serviceKey(proto, address, port), config }, context: 'add-service' };
}

function addServer(line: string): Modification | undefined {
  const m = ADD_SERVER.exec(line);
  if (!m) return undefined;
  const [, proto = '', address = '', portText = '', destAddress = '', destPortText = '', fwd = '', weightText = ''] = m;
  const port = Number(portText);
  const forward = FORWARD[fwd] as number;
  // DR and tunnel real servers take the service's port (spec §3.6).
  const destPort = forward === IP_VS_CONN_F.MASQ ? Number(destPortText) : port;
  const weight = Number(weightText);
  if (port > 65535 || Number(destPortText) > 65535 || weight > 0x7fffffff) return undefined;
  return {
    change: {
      op: 'add-dest',
      service: serviceKey(proto, address, port),
      dest: { family: AF_INET, address: destAddress, port: destPort },
      config: { forward, weight, upperThreshold: 0, lowerThreshold: 0, tunnelType: 0, tunnelPort: 0, tunnelFlags: 0 },
      template: REFERENCE,
    },
    context: 'add-dest',
  };
}
