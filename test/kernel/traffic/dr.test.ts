/**
 * LVS-DR (direct routing, `-g`): the director and the real servers share the client's L2
 * segment; the real servers carry the VIP on `lo` and keep quiet about it in ARP
 * (arp_ignore=1, arp_announce=2), so the client sends to the director, the director only
 * rewrites the destination MAC, and the real servers answer the client directly.
 *
 *   client 192.168.2.10 ─┬─ director 192.168.2.2, VIP 192.168.2.100/32 on eth0
 *                 [lan]  ├─ rs1 192.168.2.153, VIP on lo
 *                        └─ rs2 192.168.2.154, VIP on lo
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { connections, Lab, sh, stats, tally, until, type Agent } from './lab.js';

const VIP = '192.168.2.100';
const SVC = `${VIP}:81`;
const RS1 = '192.168.2.153:81';
const RS2 = '192.168.2.154:81';
const PAGE: Record<string, string> = { [RS1]: '153', [RS2]: '154' };

const lab = new Lab('dr', ['cli', 'dir', 'rs1', 'rs2']);
let cli: Agent;
let dir: Agent;

before(async () => {
  lab.create();
  sh(
    [
      lab.bridge('lan'),
      lab.plug('cli', 'eth0', 'lan', '192.168.2.10/24'),
      lab.plug('dir', 'eth0', 'lan', '192.168.2.2/24', `${VIP}/32`),
      lab.drRealServer('rs1', 'lan', '192.168.2.153/24', VIP),
      lab.drRealServer('rs2', 'lan', '192.168.2.154/24', VIP),
    ].join('\n'),
  );
  const [c, d, rs1, rs2] = await lab.start('cli', 'dir', 'rs1', 'rs2');
  [cli, dir] = [c!, d!];
  for (const port of [81, 82]) {
    await rs1!.serve(port, '153');
    await rs2!.serve(port, '154');
  }
});

after(() => lab.close());

test('the walkthrough: rr over two DR real servers, answered straight from the real servers', async () => {
  await dir.ok(['-A', '-t', SVC, '-s', 'rr'], true);
  await dir.ok(['-a', '-t', SVC, '-r', '192.168.2.153', '-g'], true);
  await dir.ok(['-a', '-t', SVC, '-r', '192.168.2.154', '-g'], true);
  assert.equal(await dir.reference(['-S', '-n']), `-A -t ${SVC} -s rr\n-a -t ${SVC} -r ${RS1} -g -w 1\n-a -t ${SVC} -r ${RS2} -g -w 1\n`);
  await dir.sameAsReference(['-L', '-n']);

  const replies = await cli.get(VIP, 81, 6);
  const bodies = replies.map((r) => String(r.body));
  assert.deepEqual(tally(bodies), { 153: 3, 154: 3 });
  for (let i = 1; i < bodies.length; i++) assert.notEqual(bodies[i], bodies[i - 1], bodies.join(' '));
  for (const r of replies) assert.equal(r.seenBy, r.local, 'the real server sees the client itself');

  // The client resolved the VIP to the director's MAC: the real servers did not answer ARP for it.
  const neigh = sh(`ip -n ${lab.ns('cli')} neigh show ${VIP}`);
  const dirMac = /link\/ether (\S+)/.exec(sh(`ip -n ${lab.ns('dir')} -o link show eth0`))?.[1];
  assert.ok(dirMac && neigh.includes(`lladdr ${dirMac}`), `client's neighbour entry for the VIP: ${neigh}; director's MAC ${dirMac}`);
});

test('replies bypass the director: its outgoing counters stay at zero', async () => {
  // A service of its own, so that its counters start at zero.
  const SVC2 = `${VIP}:82`;
  await dir.ok(['-A', '-t', SVC2, '-s', 'rr']);
  await dir.ok(['-a', '-t', SVC2, '-r', '192.168.2.153', '-g']);
  await dir.ok(['-a', '-t', SVC2, '-r', '192.168.2.154', '-g']);
  const replies = await cli.get(VIP, 82, 10);
  assert.deepEqual(tally(replies.map((r) => String(r.body))), { 153: 5, 154: 5 });
  const sent = BigInt(replies.reduce((n, r) => n + r.sent, 0));

  // The kernel folds its per-CPU counters into what it reports every 2 s.
  const s = await until('the counters to show 10 connections', async () => {
    const t = stats(await dir.ok(['-L', '-n', '--stats', '--exact']));
    return t.get(`TCP ${SVC2}`)?.conns === 10n ? t : undefined;
  });
  const svc = s.get(`TCP ${SVC2}`)!;
  assert.ok(svc.inPkts >= 30n, `InPkts ${svc.inPkts}`);
  assert.ok(svc.inBytes >= sent + 40n * svc.inPkts, `InBytes ${svc.inBytes} for ${sent} bytes sent`);
  for (const key of [`TCP ${SVC2}`, `TCP ${SVC2} -> 192.168.2.153:82`, `TCP ${SVC2} -> 192.168.2.154:82`]) {
    assert.equal(s.get(key)?.outPkts, 0n, `${key} OutPkts`);
    assert.equal(s.get(key)?.outBytes, 0n, `${key} OutBytes`);
  }
  await dir.sameAsReference(['-L', '-n', '--stats']);
});

test('-L -n -c on a DR director lists what the reference lists', async () => {
  const done = await cli.get(VIP, 81, 2);
  const held = await cli.call({ op: 'open', name: 'h', host: VIP, port: 81 });
  try {
    const listing = await dir.sameAsReference(['-L', '-n', '-c']);
    const entries = connections(listing);
    for (const r of [...done, held]) {
      const e = entries.find((x) => x.source === r.local);
      assert.ok(e, `no entry for ${r.local} in\n${listing}`);
      assert.equal(PAGE[e.destination], r.body);
    }
    assert.equal(entries.find((x) => x.source === held.local)?.state, 'ESTABLISHED');
  } finally {
    await cli.call({ op: 'close', name: 'h' });
  }
});
