/**
 * LVS-NAT, the classic walkthrough: a director with the VIP on port 81 in front of two web
 * servers on port 10000 whose pages say "153" and "154". Configured with our ipvsadm only; the
 * reference only reads back. Every assertion about balancing is on the bodies the client got.
 *
 *   client 192.168.1.10-17 ──[pub]── 192.168.1.100 director 10.0.0.1 ──[priv]── 10.0.0.153 rs1
 *                                                                             └─ 10.0.0.154 rs2
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { connections, Lab, sh, stats, tally, until, type Agent } from './lab.js';

const VIP = '192.168.1.100';
const SVC = `${VIP}:81`;
const RS1 = '10.0.0.153:10000';
const RS2 = '10.0.0.154:10000';
/** The client's addresses: the first is its own, the others stand for more clients. */
const CLIENTS = ['192.168.1.10', '192.168.1.11', '192.168.1.12', '192.168.1.13', '192.168.1.14', '192.168.1.15', '192.168.1.16', '192.168.1.17'];
/** Which page each real server serves. */
const PAGE: Record<string, string> = { [RS1]: '153', [RS2]: '154' };

const lab = new Lab('nat', ['cli', 'dir', 'rs1', 'rs2']);
let cli: Agent;
let dir: Agent;

before(async () => {
  lab.create();
  sh(
    [
      lab.bridge('pub'),
      lab.bridge('priv'),
      lab.plug('cli', 'eth0', 'pub', ...CLIENTS.map((a) => `${a}/24`)),
      lab.plug('dir', 'eth0', 'pub', `${VIP}/24`),
      lab.plug('dir', 'eth1', 'priv', '10.0.0.1/24'),
      lab.sysctl('dir', 'net.ipv4.ip_forward', 1),
      lab.plug('rs1', 'eth0', 'priv', '10.0.0.153/24'),
      `ip -n ${lab.ns('rs1')} route add default via 10.0.0.1`,
      lab.plug('rs2', 'eth0', 'priv', '10.0.0.154/24'),
      `ip -n ${lab.ns('rs2')} route add default via 10.0.0.1`,
    ].join('\n'),
  );
  const [c, d, rs1, rs2] = await lab.start('cli', 'dir', 'rs1', 'rs2');
  [cli, dir] = [c!, d!];
  await rs1!.serve(10000, '153');
  await rs2!.serve(10000, '154');
});

after(() => lab.close());

/** A fresh table with the walkthrough's service: rr over both real servers, masquerading. */
async function walkthrough(spawn = false): Promise<void> {
  await dir.ok(['-C']);
  await dir.ok(['-A', '-t', SVC, '-s', 'rr'], spawn);
  await dir.ok(['-a', '-t', SVC, '-r', RS1, '-m'], spawn);
  await dir.ok(['-a', '-t', SVC, '-r', RS2, '-m'], spawn);
}

test('the walkthrough: rr alternates exactly between 153 and 154', async () => {
  await walkthrough(true); // bin/ipvsadm as a process, as a user types it
  assert.equal(
    await dir.reference(['-S', '-n']),
    `-A -t ${SVC} -s rr\n-a -t ${SVC} -r ${RS1} -m -w 1\n-a -t ${SVC} -r ${RS2} -m -w 1\n`,
  );
  await dir.sameAsReference(['-L', '-n']);

  const replies = await cli.get(VIP, 81, 8);
  const bodies = replies.map((r) => r.body);
  assert.deepEqual(tally(bodies.map(String)), { 153: 4, 154: 4 }, `bodies ${bodies.join(' ')}`);
  for (let i = 1; i < bodies.length; i++) assert.notEqual(bodies[i], bodies[i - 1], `bodies ${bodies.join(' ')}`);
  // NAT rewrites only the destination: the real servers see the client's own address and port.
  for (const r of replies) assert.equal(r.seenBy, r.local);
});

test('-L -n -c lists the live connections exactly as the reference does', async () => {
  await walkthrough();
  const done = await cli.get(VIP, 81, 4);
  // Kept-alive connections stay ESTABLISHED while the listings are taken.
  const held = [
    await cli.call({ op: 'open', name: 'a', host: VIP, port: 81 }),
    await cli.call({ op: 'open', name: 'b', host: VIP, port: 81 }),
  ];
  try {
    const listing = await dir.sameAsReference(['-L', '-n', '-c']);
    const entries = connections(listing);
    for (const r of [...done, ...held]) {
      const e = entries.find((x) => x.source === r.local);
      assert.ok(e, `no entry for ${r.local} in\n${listing}`);
      assert.equal(e.virtual, SVC);
      assert.equal(PAGE[e.destination], r.body, `${r.local} was answered by ${r.body} but listed to ${e.destination}`);
    }
    for (const r of held) assert.equal(entries.find((x) => x.source === r.local)?.state, 'ESTABLISHED');
    await dir.sameAsReference(['-L', '-c']); // names instead of numbers
  } finally {
    await cli.call({ op: 'close', name: 'a' });
    await cli.call({ op: 'close', name: 'b' });
  }
});

test('-p 50 keeps each client on one real server', async () => {
  await walkthrough();
  await dir.ok(['-E', '-t', SVC, '-s', 'rr', '-p', '50']);
  assert.equal(
    await dir.reference(['-S', '-n']),
    `-A -t ${SVC} -s rr -p 50\n-a -t ${SVC} -r ${RS1} -m -w 1\n-a -t ${SVC} -r ${RS2} -m -w 1\n`,
  );
  const a = await cli.bodies(VIP, 81, 6, CLIENTS[0]);
  const b = await cli.bodies(VIP, 81, 6, CLIENTS[1]);
  assert.equal(new Set(a).size, 1, `client A got ${a.join(' ')}`);
  assert.equal(new Set(b).size, 1, `client B got ${b.join(' ')}`);
  // rr placed the second client's persistence template on the other server.
  assert.notEqual(a[0], b[0]);
  // The templates (client port 0) are listed with the connections.
  const listing = await dir.sameAsReference(['-L', '-n', '-c']);
  const templates = connections(listing).filter((e) => e.source.endsWith(':0'));
  assert.deepEqual(
    templates.map((e) => `${e.source} ${PAGE[e.destination]}`).sort(),
    [`${CLIENTS[0]}:0 ${a[0]}`, `${CLIENTS[1]}:0 ${b[0]}`],
    listing,
  );
  await dir.sameAsReference(['-L', '-n', '-c', '--persistent-conn']);
});

test('wrr with weights 3:1 sends 30 of 40 requests to 153 and 10 to 154', async () => {
  await walkthrough();
  await dir.ok(['-E', '-t', SVC, '-s', 'wrr']);
  await dir.ok(['-e', '-t', SVC, '-r', RS1, '-m', '-w', '3']);
  await dir.ok(['-e', '-t', SVC, '-r', RS2, '-m', '-w', '1']);
  await dir.sameAsReference(['-L', '-n']);
  const bodies = await cli.bodies(VIP, 81, 40);
  assert.deepEqual(tally(bodies), { 153: 30, 154: 10 });
});

test('weight 0 stops new connections to 154; its established connection keeps working', async () => {
  await walkthrough();
  // rr gives two connections in a row to different servers.
  const first = await cli.call({ op: 'open', name: 'x', host: VIP, port: 81 });
  const second = await cli.call({ op: 'open', name: 'y', host: VIP, port: 81 });
  try {
    assert.deepEqual([first.body, second.body].sort(), ['153', '154']);
    const on154 = first.body === '154' ? 'x' : 'y';

    await dir.ok(['-e', '-t', SVC, '-r', RS2, '-m', '-w', '0']);
    assert.match(await dir.reference(['-L', '-n']), new RegExp(`-> ${RS2.replace(/\./g, '\\.')}\\s+Masq\\s+0\\s`));
    assert.deepEqual(tally(await cli.bodies(VIP, 81, 10)), { 153: 10 });
    const again = await cli.call({ op: 'again', name: on154 });
    assert.equal(again.body, '154', `the connection to 154 after weight 0: ${JSON.stringify(again)}`);
  } finally {
    await cli.call({ op: 'close', name: 'x' });
    await cli.call({ op: 'close', name: 'y' });
  }
});

test('-d takes 153 out: all traffic moves to 154', async () => {
  await walkthrough();
  assert.deepEqual(tally(await cli.bodies(VIP, 81, 4)), { 153: 2, 154: 2 });
  await dir.ok(['-d', '-t', SVC, '-r', RS1]);
  assert.equal(await dir.reference(['-S', '-n']), `-A -t ${SVC} -s rr\n-a -t ${SVC} -r ${RS2} -m -w 1\n`);
  assert.deepEqual(tally(await cli.bodies(VIP, 81, 10)), { 154: 10 });
});

test('sh sends each client to its own server, always the same one', async () => {
  await walkthrough();
  await dir.ok(['-E', '-t', SVC, '-s', 'sh']);
  const chosen: string[] = [];
  for (const client of CLIENTS) {
    const bodies = await cli.bodies(VIP, 81, 3, client);
    assert.equal(new Set(bodies).size, 1, `client ${client} got ${bodies.join(' ')}`);
    chosen.push(bodies[0]!);
  }
  // Source hashing spreads the eight clients over both servers.
  assert.deepEqual(new Set(chosen), new Set(['153', '154']), `choices ${chosen.join(' ')}`);
});

test('--stats counters grow by what was sent', async () => {
  // A service of its own: its counters start at zero. (-Z would not do: it zeroes what the
  // kernel last folded in from its per-CPU counters, up to 2 s behind the traffic before it.)
  const SVC2 = `${VIP}:82`;
  await dir.ok(['-C']);
  await dir.ok(['-A', '-t', SVC2, '-s', 'rr']);
  await dir.ok(['-a', '-t', SVC2, '-r', RS1, '-m']);
  await dir.ok(['-a', '-t', SVC2, '-r', RS2, '-m']);
  const replies = await cli.get(VIP, 82, 20);
  assert.deepEqual(tally(replies.map((r) => String(r.body))), { 153: 10, 154: 10 });
  const sent = BigInt(replies.reduce((n, r) => n + r.sent, 0));
  const received = BigInt(replies.reduce((n, r) => n + r.received, 0));

  // The kernel folds its per-CPU counters into what it reports every 2 s.
  const settled = await until('the counters to show 20 connections', async () => {
    const s = stats(await dir.ok(['-L', '-n', '--stats', '--exact']));
    return s.get(`TCP ${SVC2}`)?.conns === 20n ? s : undefined;
  });
  // The 20th connection can be counted one fold before its last packets (data, FIN): the
  // counters are settled when two readings one fold apart agree.
  let s = settled;
  let steady = false;
  for (let fold = 0; fold < 5 && !steady; fold++) {
    await new Promise((r) => setTimeout(r, 2100));
    const next = stats(await dir.ok(['-L', '-n', '--stats', '--exact']));
    steady = isDeepStrictEqual(next, s);
    s = next;
  }
  assert.ok(steady, 'counters still moving 10 s after the last request');
  const svc = s.get(`TCP ${SVC2}`)!;
  assert.equal(s.get(`TCP ${SVC2} -> ${RS1}`)?.conns, 10n);
  assert.equal(s.get(`TCP ${SVC2} -> ${RS2}`)?.conns, 10n);
  // Every packet carries 40 to 80 bytes of IPv4 and TCP headers besides the payload.
  assert.ok(svc.inPkts >= 60n && svc.outPkts >= 40n, `InPkts ${svc.inPkts}, OutPkts ${svc.outPkts}`);
  assert.ok(svc.inBytes >= sent + 40n * svc.inPkts && svc.inBytes <= sent + 80n * svc.inPkts, `InBytes ${svc.inBytes}, sent ${sent} in ${svc.inPkts} packets`);
  assert.ok(
    svc.outBytes >= received + 40n * svc.outPkts && svc.outBytes <= received + 80n * svc.outPkts,
    `OutBytes ${svc.outBytes}, received ${received} in ${svc.outPkts} packets`,
  );
  await dir.sameAsReference(['-L', '-n', '--stats']);
  await dir.sameAsReference(['-L', '-n', '--stats', '--exact']);
});
