import {
  DEFAULT_DEST_CONFIG,
  AF_INET,
  AF_INET6,
  canonicalAddress,
  isFwmarkKey,
  type DestinationConfig,
  type DestinationKey,
  type Family,
  type Netmask,
  type ServiceConfig,
  type ServiceKey,
} from '../wire/index.js';

/** A stable string for a service identity, usable as a Map key (`-t 10.0.0.1:80` → "2/6/10.0.0.1/80"). */
export function serviceKeyId(key: ServiceKey): string {
  if (isFwmarkKey(key)) return `${key.family}/fwm/${key.fwmark >>> 0}`;
  return `${key.family}/${key.protocol}/${canonicalAddress(key.family, key.address)}/${key.port}`;
}

/** A stable string for a destination identity within its service (`-r 192.168.1.2:80`). */
export function destinationKeyId(key: DestinationKey): string {
  return `${key.family}/${canonicalAddress(key.family, key.address)}/${key.port}`;
}

/** True when both keys name the same virtual service. */
export function sameService(a: ServiceKey, b: ServiceKey): boolean {
  return serviceKeyId(a) === serviceKeyId(b);
}

/** The netmask ipvsadm sends when `-M` is not given: /32 for IPv4, /128 for IPv6. */
export function fullNetmask(family: Family): Netmask {
  return family === AF_INET ? { family: AF_INET, mask: 0xffffffff } : { family: AF_INET6, prefix: 128 };
}

/** A service configuration with ipvsadm's `-A` defaults (wlc, not persistent), overridden by `patch`. */
export function serviceConfig(family: Family, patch: Partial<ServiceConfig> = {}): ServiceConfig {
  return { scheduler: 'wlc', flags: 0, timeout: 0, netmask: fullNetmask(family), pe: '', ...patch };
}

/** A destination configuration with ipvsadm's `-a` defaults (DR, weight 1), overridden by `patch`. */
export function destinationConfig(patch: Partial<DestinationConfig> = {}): DestinationConfig {
  return { ...DEFAULT_DEST_CONFIG, ...patch };
}
