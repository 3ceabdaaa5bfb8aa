/**
 * Two directors with connection synchronisation: the master's sync daemon multicasts its
 * connections, the backup's receives them into its own table, so when the VIP moves to the
 * backup an established connection carries on to the same real server. Both daemons started
 * by our ipvsadm.
 *
 *   client 192.168.5.10 ─┬─ dir1 (master) 192.168.5.2, VIP 192.168.5.100/32 until the failover
 *                 [lan]  ├─ dir2 (backup) 192.168.5.3, VIP after the failover
 *                        ├─ rs1 192.168.5.153, VIP on lo
 *                        └─ rs2 192.168.5.154, VIP on lo
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { connections, Lab, sh, tally, until, type Agent } from './lab.js';
import type { Reply } from './protocol.js';

const VIP = '192.168.5.100';
const SVC = `${VIP}:81`;
const RS1 = '192.168.5.153:81';
const RS2 = '192.168.5.154:81';
const PAGE: Record<string, string> = { [RS1]: '153', [RS2]: '154' };
const SYNCID = '7';

const lab = new Lab('sync', ['cli', 'dir1', 'dir2', 'rs1', 'rs2']);
let cli: Agent;
let master: Agent;
let backup: Agent;
/** The kept-alive connection opened through the master, and its first reply. */
let held: Reply;

before(async () => {
  lab.create();
  sh(
    [
      lab.bridge('lan'),
      lab.plug('cli', 'eth0', 'lan', '192.168.5.10/24'),
      lab.plug('dir1', 'eth0', 'lan', '192.168.5.2/24', `${VIP}/32`),
      lab.plug('dir2', 'eth0', 'lan', '192.168.5.3/24'),
      lab.drRealServer('rs1', 'lan', '192.168.5.153/24', VIP),
      lab.drRealServer('rs2', 'lan', '192.168.5.154/24', VIP),
    ].join('\n'),
  );
  const [c, d1, d2, rs1, rs2] = await lab.start('cli', 'dir1', 'dir2', 'rs1', 'rs2');
  [cli, master, backup] = [c!, d1!, d2!];
  await rs1!.serve(81, '153');
  await rs2!.serve(81, '154');
});

after(async () => {
  await cli.call({ op: 'close', name: 'held' }).catch(() => null);
  await lab.close();
});

test('the same service on both directors, sync daemons started as master and backup', async () => {
  for (const d of [master, backup]) {
    await d.ok(['-A', '-t', SVC, '-s', 'rr']);
    await d.ok(['-a', '-t', SVC, '-r', RS1, '-g']);
    await d.ok(['-a', '-t', SVC, '-r', RS2, '-g']);
  }
  await master.ok(['--start-daemon', 'master', '--mcast-interface', 'eth0', '--syncid', SYNCID], true);
  await backup.ok(['--start-daemon', 'backup', '--mcast-interface', 'eth0', '--syncid', SYNCID], true);
  assert.match(await master.sameAsReference(['-L', '--daemon']), /^master sync daemon \(mcast=eth0, syncid=7, /);
  assert.match(await backup.sameAsReference(['-L', '--daemon']), /^backup sync daemon \(mcast=eth0, syncid=7, /);
  assert.equal(await backup.reference(['-S', '-n']), await master.reference(['-S', '-n']));
});

test("connections made through the master appear in the backup's -L -n -c", async () => {
  held = await cli.call({ op: 'open', name: 'held', host: VIP, port: 81 });
  const replies = [held, ...(await cli.get(VIP, 81, 6))];
  const bodies = replies.map((r) => String(r.body));
  for (let i = 1; i < bodies.length; i++) assert.notEqual(bodies[i], bodies[i - 1], `rr on the master: ${bodies.join(' ')}`);

  const onMaster = connections(await master.sameAsReference(['-L', '-n', '-c']));
  const key = (e: { source: string; virtual: string; destination: string }): string => `${e.source} ${e.virtual} ${e.destination}`;
  for (const r of replies) {
    const e = onMaster.find((x) => x.source === r.local);
    assert.ok(e, `master lists no connection from ${r.local}`);
    assert.equal(PAGE[e.destination], r.body);
  }
  const wanted = onMaster.filter((e) => replies.some((r) => r.local === e.source)).map(key);
  // The master sends its sync buffer when it fills or after about a second.
  const onBackup = await until('the backup to list every connection', async () => {
    const listed = connections(await backup.ok(['-L', '-n', '-c'])).map(key);
    return wanted.every((w) => listed.includes(w)) ? listed : undefined;
  });
  assert.ok(onBackup.length >= wanted.length);
  const listing = await backup.sameAsReference(['-L', '-n', '-c']);
  const kept = connections(listing).find((e) => e.source === held.local);
  assert.equal(kept?.state, 'ESTABLISHED', listing);
});

test('failover: the VIP moves to the backup and the established connection carries on', async () => {
  sh(
    [
      `ip -n ${lab.ns('dir1')} addr del ${VIP}/32 dev eth0`,
      `ip -n ${lab.ns('dir2')} addr add ${VIP}/32 dev eth0`,
      // what keepalived's gratuitous ARP does for a real client
      `ip -n ${lab.ns('cli')} neigh flush dev eth0`,
    ].join('\n'),
  );
  const again = await cli.call({ op: 'again', name: 'held' });
  assert.equal(again.error, undefined, `the held connection after the failover: ${JSON.stringify(again)}`);
  assert.equal(again.body, held.body, 'answered by the same real server');
  assert.equal(again.local, held.local, 'on the same connection');
  // New connections are the backup's own now.
  const bodies = await cli.bodies(VIP, 81, 4);
  assert.deepEqual(tally(bodies), { 153: 2, 154: 2 });
  await backup.sameAsReference(['-L', '-n', '-c']);
});

test('--stop-daemon stops both', async () => {
  await master.ok(['--stop-daemon', 'master']);
  await backup.ok(['--stop-daemon', 'backup']);
  assert.equal(await master.sameAsReference(['-L', '--daemon']), '');
  assert.equal(await backup.sameAsReference(['-L', '--daemon']), '');
});
