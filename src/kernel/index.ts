/** The kernel layer: one generic-netlink socket handle for IPVS. */
export * from './errors.js';
export * from './handle.js';
export { LARGE_DATAGRAMS, SMALL_DATAGRAMS, type Transport } from './transport.js';
