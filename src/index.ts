/**
 * ipvsadm for Node: a typed library over the kernel's IPVS generic-netlink interface.
 * `Ipvs` is the entry point; the wire types describe services, real servers and daemons.
 */
export * from './model/index.js';
export { NetlinkError, MAX_OUTSTANDING, type OpResult, type HandleOptions, type Transport } from './kernel/index.js';
export * from './wire/index.js';
