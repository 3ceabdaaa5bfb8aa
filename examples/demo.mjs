// Programs a small NAT director through the library, then prints what the kernel holds.
// Run inside the VM: npm run vm -- --kernel 6.12 -- 'node examples/demo.mjs && ipvsadm -L -n'
import { Ipvs, AF_INET, serviceConfig, destinationConfig } from '../dist/src/index.js';

const ipvs = await Ipvs.open();
const info = await ipvs.info();
console.log(`IPVS ${info.version >> 16}.${(info.version >> 8) & 255}.${info.version & 255}, family id 0x${ipvs.familyId.toString(16)}`);
const vip = { family: AF_INET, protocol: 6, address: '192.0.2.10', port: 81 };
await ipvs.addService(vip, serviceConfig(AF_INET, { scheduler: 'rr' }));
for (const [address, weight] of [['10.10.0.153', 1], ['10.10.0.154', 1]]) {
  await ipvs.addDestination(vip, { family: AF_INET, address, port: 10000 }, destinationConfig({ forward: 0, weight }));
}
for (const s of await ipvs.list()) {
  console.log(`service ${s.key.address}:${s.key.port} ${s.config.scheduler}`);
  for (const d of s.destinations) console.log(`  -> ${d.key.address}:${d.key.port} masq weight ${d.config.weight}`);
}
ipvs.close();
