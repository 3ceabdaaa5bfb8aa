import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { AF_INET, destinationConfig, serviceConfig, type Ipvs, type IpvsChange, type ServiceKey } from '../../src/index.js';
import { openClean, refSave, reset, sorted } from './helpers.js';

const vip = (i: number): ServiceKey => ({ family: AF_INET, protocol: 6, address: `10.${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`, port: 80 });
const rip = (d: number): string => `172.${16 + (d >> 16)}.${(d >> 8) & 255}.${d & 255}`;
const vipText = (k: ServiceKey): string => ('address' in k ? `${k.address}:${k.port}` : '');

let ipvs: Ipvs;
before(async () => {
  ipvs = await openClean();
});
after(async () => {
  await reset(ipvs);
  ipvs.close();
});

/** Applies requests through the pipeline and fails on the first refused one. */
async function applyAll(requests: Iterable<IpvsChange>): Promise<number> {
  return ipvs.apply(requests, (index, result) => {
    if (result) assert.fail(`request ${index} refused: ${result.message}`);
  });
}

test('10,000 services: written pipelined, dumped back intact, equal to what the reference prints', async () => {
  const N = 10_000;
  const expected: string[] = [];
  function* requests(): Generator<IpvsChange> {
    for (let i = 0; i < N; i++) {
      const scheduler = ['rr', 'wlc', 'sh', 'lc'][i % 4] as string;
      expected.push(`-A -t ${vipText(vip(i))} -s ${scheduler}`);
      yield { op: 'add-service', service: vip(i), config: serviceConfig(AF_INET, { scheduler }) };
    }
  }
  assert.equal(await applyAll(requests()), N);
  const services = await ipvs.services();
  assert.equal(services.length, N);
  assert.equal(new Set(services.map((s) => vipText(s.key))).size, N);
  const ours = services.map((s) => `-A -t ${vipText(s.key)} -s ${s.config.scheduler}`);
  assert.deepEqual(sorted(ours), sorted(expected));
  assert.deepEqual(sorted(refSave()), sorted(expected));
  await ipvs.flush();
});

test('100,000 destinations (2,000 services x 50): written, dumped back intact, equal to the reference', async () => {
  const S = 2_000;
  const D = 50;
  const expected: string[] = [];
  function* requests(): Generator<IpvsChange> {
    for (let i = 0; i < S; i++) {
      const svc = vip(i);
      expected.push(`-A -t ${vipText(svc)} -s wlc`);
      yield { op: 'add-service', service: svc, config: serviceConfig(AF_INET) };
      for (let j = 0; j < D; j++) {
        const d = i * D + j;
        const weight = 1 + (d % 5);
        expected.push(`-a -t ${vipText(svc)} -r ${rip(d)}:8080 -m -w ${weight}`);
        yield { op: 'add-dest', service: svc, dest: { family: AF_INET, address: rip(d), port: 8080 }, config: destinationConfig({ forward: 0, weight }) };
      }
    }
  }
  assert.equal(await applyAll(requests()), S * (D + 1));
  const table = await ipvs.list();
  assert.equal(table.length, S);
  const ours: string[] = [];
  let dests = 0;
  for (const s of table) {
    ours.push(`-A -t ${vipText(s.key)} -s ${s.config.scheduler}`);
    for (const d of s.destinations) {
      dests++;
      assert.equal(d.config.forward, 0);
      ours.push(`-a -t ${vipText(s.key)} -r ${d.key.address}:${d.key.port} -m -w ${d.config.weight}`);
    }
  }
  assert.equal(dests, S * D);
  assert.deepEqual(sorted(ours), sorted(expected));
  assert.deepEqual(sorted(refSave()), sorted(expected));
});
