/** The model layer: identities, configurations and the Ipvs library API. */
export * from './keys.js';
export * from './ipvs.js';
export * from './changes.js';
