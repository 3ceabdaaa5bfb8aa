/**
 * Fixed-layout encoders for the two requests a big `ipvsadm -R` is made of: NEW_SERVICE and
 * NEW_DEST for IPv4 TCP/UDP services with ipvsadm's default rest of the nest. Their attributes
 * always sit at the same offsets, so a copy of a template with the values patched in replaces a
 * dozen attribute writes each. Every other shape returns undefined and takes the general
 * builders of ipvs.ts; a property test holds both byte-identical where these answer.
 */
import { AF_INET, IP_VS_CONN_F, IPPROTO, IPVS_CMD, IPVS_SVC_ATTR } from './constants.js';
import { writeIPv4 } from './address.js';
import { carve, putU16, putU16be, putU32, putU32be } from './attributes.js';
import { DEFAULT_DEST_CONFIG, ipvsRequest, serviceReference, type IpvsRequest } from './ipvs.js';
import { isFwmarkKey, type DestinationConfig, type DestinationKey, type ServiceConfig, type ServiceKey } from './types.js';

/** Offsets inside the service nest as ipvs.ts writes it (AF, PROTOCOL, ADDR, PORT first). */
const SVC = { protocol: 16, address: 24, port: 44, keyEnd: 48 } as const;

/** Offsets inside NEW_DEST's attributes: the service nest (84 bytes), then the dest nest. */
const DEST = { address: 100, port: 120, forward: 128, weight: 136, upper: 168, lower: 176 } as const;

const SAMPLE_KEY: ServiceKey = { family: AF_INET, protocol: IPPROTO.TCP, address: '0.0.0.0', port: 1 };

let destTemplate: Uint8Array | undefined;
/** A sample NEW_SERVICE (empty scheduler name): its key part and what follows the name. */
let serviceSample: Uint8Array | undefined;

function isPlainIPv4Service(key: ServiceKey): key is Extract<ServiceKey, { address: string }> {
  return !isFwmarkKey(key) && key.family === AF_INET && (key.protocol === IPPROTO.TCP || key.protocol === IPPROTO.UDP);
}

/** ipvsadm's rest of the nest beside a real server: what serviceReference(AF_INET) holds. */
function isReferenceTemplate(t: ServiceConfig): boolean {
  return (
    t.scheduler === '' && t.flags === 0 && t.timeout === 0 && t.pe === '' &&
    t.netmask.family === AF_INET && t.netmask.mask === 0xffffffff
  );
}

function putServiceKey(out: Uint8Array, key: { protocol: number; address: string; port: number }): boolean {
  if (!writeIPv4(out, SVC.address, key.address)) return false;
  putU16(out, SVC.protocol, key.protocol);
  putU16be(out, SVC.port, key.port);
  return true;
}

/** `ipvsadm -a` for an IPv4 TCP/UDP service and a non-tunnel IPv4 real server, or undefined. */
export function fastNewDest(
  service: ServiceKey,
  key: DestinationKey,
  config: DestinationConfig,
  template: ServiceConfig = serviceReference(service.family),
): IpvsRequest | undefined {
  if (!isPlainIPv4Service(service) || key.family !== AF_INET || !isReferenceTemplate(template)) return undefined;
  const forward = config.forward & IP_VS_CONN_F.FWD_MASK;
  if (forward === IP_VS_CONN_F.TUNNEL || config.tunnelType !== 0 || config.tunnelPort !== 0 || config.tunnelFlags !== 0) {
    return undefined;
  }
  destTemplate ??= ipvsRequest.newDest(SAMPLE_KEY, { family: AF_INET, address: '0.0.0.0', port: 0 }, DEFAULT_DEST_CONFIG).attrs;
  const out = carve(destTemplate.length);
  out.set(destTemplate);
  if (!writeIPv4(out, DEST.address, key.address) || !putServiceKey(out, service)) return undefined;
  putU16be(out, DEST.port, key.port);
  putU32(out, DEST.forward, forward);
  putU32(out, DEST.weight, config.weight >>> 0);
  putU32(out, DEST.upper, config.upperThreshold >>> 0);
  putU32(out, DEST.lower, config.lowerThreshold >>> 0);
  return { cmd: IPVS_CMD.NEW_DEST, dump: false, attrs: out };
}

/** `ipvsadm -A` for an IPv4 TCP/UDP service without a persistence engine, or undefined. */
export function fastNewService(key: ServiceKey, config: ServiceConfig): IpvsRequest | undefined {
  if (!isPlainIPv4Service(key) || config.pe !== '' || config.netmask.family !== AF_INET) return undefined;
  if (!/^[\x01-\x7f]*$/.test(config.scheduler)) return undefined;
  serviceSample ??= ipvsRequest.newService(SAMPLE_KEY, serviceReference(AF_INET)).attrs;
  // The sample's empty name takes 8 bytes; FLAGS, TIMEOUT and NETMASK follow it unchanged.
  const tail = serviceSample.subarray(SVC.keyEnd + 8);
  const nameAttr = (4 + config.scheduler.length + 1 + 3) & ~3;
  const length = SVC.keyEnd + nameAttr + tail.length;
  const out = carve(length);
  out.set(serviceSample.subarray(0, SVC.keyEnd));
  out.set(tail, SVC.keyEnd + nameAttr);
  putU16(out, 0, length);
  if (!putServiceKey(out, key)) return undefined;
  putU16(out, SVC.keyEnd, 4 + config.scheduler.length + 1);
  putU16(out, SVC.keyEnd + 2, IPVS_SVC_ATTR.SCHED_NAME);
  for (let i = 0; i < config.scheduler.length; i++) out[SVC.keyEnd + 4 + i] = config.scheduler.charCodeAt(i);
  const at = SVC.keyEnd + nameAttr; // FLAGS {flags, mask}, TIMEOUT, NETMASK: values at +4, +16, +24
  putU32(out, at + 4, config.flags >>> 0);
  putU32(out, at + 16, config.timeout >>> 0);
  putU32be(out, at + 24, config.netmask.mask >>> 0);
  return { cmd: IPVS_CMD.NEW_SERVICE, dump: false, attrs: out };
}
