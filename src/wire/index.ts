/** The wire layer: pure encoding and decoding of IPVS generic-netlink messages. No I/O. */
export * from './constants.js';
export * from './errors.js';
export * from './address.js';
export * from './attributes.js';
export * from './types.js';
export * from './ipvs.js';
export * from './netlink.js';
export * from './describe.js';
export * from './ipvs-fast.js';
export * from './proc-table.js';
