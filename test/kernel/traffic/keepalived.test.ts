/**
 * keepalived managing the director's table (lb_algo rr, lb_kind DR, persistence_timeout 50,
 * TCP_CHECK health checks) while our ipvsadm reads and edits the same table: our listings must
 * be the reference's, keepalived's removal of a dead real server must show in ours, and our
 * weight change must show in the reference's.
 *
 *   client 192.168.4.10 ─┬─ director 192.168.4.2, VIP 192.168.4.100/32, keepalived -C
 *                 [lan]  ├─ rs1 192.168.4.153, VIP on lo
 *                        └─ rs2 192.168.4.154, VIP on lo
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { Lab, sh, stats, tally, until, type Agent, type Daemon } from './lab.js';

const VIP = '192.168.4.100';
const SVC = `${VIP}:81`;
const RS = ['192.168.4.153:81', '192.168.4.154:81'] as const;
const PAGES = ['153', '154'] as const;
const CONF = '/tmp/keepalived-lvs.conf';

/** The classic keepalived block; TCP_CHECK retries once, one second apart, so a dead server goes in about 2 s. */
const KEEPALIVED_CONF = `global_defs {
    router_id LVS_TEST
}

virtual_server ${VIP} 81 {
    delay_loop 1
    lb_algo rr
    lb_kind DR
    persistence_timeout 50
    protocol TCP

${RS.map((rs) => {
  const [addr, port] = rs.split(':');
  return `    real_server ${addr} ${port} {
        weight 1
        TCP_CHECK {
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
`;
}).join('\n')}}
`;

const lab = new Lab('ka', ['cli', 'dir', 'rs1', 'rs2']);
let cli: Agent;
let dir: Agent;
let servers: Agent[];
let keepalived: Daemon;
/** The real server the second test stopped (the tests build on each other, in order). */
let stopped = -1;

before(async () => {
  lab.create();
  sh(
    [
      lab.bridge('lan'),
      lab.plug('cli', 'eth0', 'lan', '192.168.4.10/24'),
      lab.plug('dir', 'eth0', 'lan', '192.168.4.2/24', `${VIP}/32`),
      lab.drRealServer('rs1', 'lan', '192.168.4.153/24', VIP),
      lab.drRealServer('rs2', 'lan', '192.168.4.154/24', VIP),
    ].join('\n'),
  );
  const [c, d, rs1, rs2] = await lab.start('cli', 'dir', 'rs1', 'rs2');
  [cli, dir, servers] = [c!, d!, [rs1!, rs2!]];
  await rs1!.serve(81, '153');
  await rs2!.serve(81, '154');
  writeFileSync(CONF, KEEPALIVED_CONF);
  // -C: only the health checkers (no VRRP); -n -l: stay in the foreground, log to the console.
  keepalived = lab.daemon('dir', 'keepalived', ['-C', '-n', '-l', '-D', '-f', CONF, '-p', '/tmp/keepalived-lvs.pid', '-c', '/tmp/keepalived-lvs-checkers.pid']);
});

after(() => lab.close());

/** Destination addresses in our `-L -n`, once `probe` accepts them. */
async function ourDestinations(what: string, probe: (dests: string[]) => boolean): Promise<string[]> {
  try {
    return await until(what, async () => {
      const listing = await dir.ok(['-L', '-n']);
      const dests = [...listing.matchAll(/^ {2}-> (\d\S+)/gm)].map((m) => m[1]!);
      return probe(dests) ? dests : undefined;
    });
  } catch (e) {
    throw new Error(`${String(e)}\nkeepalived said:\n${keepalived.output}`);
  }
}

/** Which of RS the client is held on (persistence), checked over `n` requests. */
async function stuckTo(n: number): Promise<number> {
  const replies = await cli.get(VIP, 81, n);
  const bodies = replies.map((r) => String(r.body));
  assert.equal(new Set(bodies).size, 1, `persistence_timeout 50, yet the client got ${bodies.join(' ')}`);
  for (const r of replies) assert.equal(r.seenBy, r.local);
  const i = PAGES.indexOf(bodies[0] as (typeof PAGES)[number]);
  assert.ok(i >= 0, bodies[0]);
  return i;
}

test("keepalived's table: our -L -n, --stats and -S -n print what the reference prints", async () => {
  await ourDestinations('keepalived to add both real servers', (d) => d.length === 2);
  assert.equal(
    await dir.reference(['-S', '-n']),
    `-A -t ${SVC} -s rr -p 50\n-a -t ${SVC} -r ${RS[0]} -g -w 1\n-a -t ${SVC} -r ${RS[1]} -g -w 1\n`,
  );
  await dir.sameAsReference(['-L', '-n']);
  await dir.sameAsReference(['-S', '-n']);

  await stuckTo(6);
  await until('the counters to show the 6 connections', async () =>
    stats(await dir.ok(['-L', '-n', '--stats', '--exact'])).get(`TCP ${SVC}`)?.conns === 6n ? true : undefined,
  );
  await dir.sameAsReference(['-L', '-n', '--stats']);
  await dir.sameAsReference(['-L', '-n']);
});

test('the server the client is held on stops: keepalived removes it, our listing shows it, the client moves', async () => {
  const held = await stuckTo(2);
  const other = 1 - held;
  await servers[held]!.unserve(81);
  stopped = held;
  const dests = await ourDestinations(`keepalived to remove ${RS[held]}`, (d) => !d.includes(RS[held]!));
  assert.deepEqual(dests, [RS[other]]);
  await dir.sameAsReference(['-L', '-n']);
  await dir.sameAsReference(['-S', '-n']);
  // The persistence template pointed at the removed server: the client is scheduled anew.
  assert.deepEqual(tally(await cli.bodies(VIP, 81, 4)), { [PAGES[other]!]: 4 });
});

test("our -e weight change on a server keepalived manages shows in the reference's listing", async () => {
  const [live] = await ourDestinations('one real server', (d) => d.length === 1);
  await dir.ok(['-e', '-t', SVC, '-r', live!, '-g', '-w', '5'], true);
  const listing = await dir.reference(['-L', '-n']);
  assert.match(listing, new RegExp(`-> ${live!.replace(/\./g, '\\.')}\\s+Route\\s+5\\s`), listing);
  assert.match(await dir.reference(['-S', '-n']), new RegExp(`-r ${live!.replace(/\./g, '\\.')} -g -w 5\n`));
  await dir.sameAsReference(['-L', '-n']);
});

test('the server comes back: keepalived adds it again beside our weight', async () => {
  const down = stopped;
  assert.ok(down >= 0, 'the previous test stopped no server');
  await servers[down]!.serve(81, PAGES[down]!);
  await ourDestinations(`keepalived to add ${RS[down]} back`, (d) => d.length === 2);
  const save = await dir.sameAsReference(['-S', '-n']);
  assert.match(save, new RegExp(`-r ${RS[down]!.replace(/\./g, '\\.')} -g -w 1\n`));
  assert.match(save, new RegExp(`-r ${RS[1 - down]!.replace(/\./g, '\\.')} -g -w 5\n`));
  await dir.sameAsReference(['-L', '-n']);
});
