/**
 * The traffic scenarios' laboratory: network namespaces for the client, the directors and the
 * real servers, joined by veth pairs to bridges that live in a namespace of their own (so the
 * VM's initial namespace stays untouched), and one agent (agent.ts) in each namespace.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Answer, Op, Reply, RequestOf, Results, Run } from './protocol.js';

const AGENT = fileURLToPath(new URL('./agent.js', import.meta.url));

/** Runs a /bin/sh (dash) script; throws with its output unless it exits 0. */
export function sh(script: string): string {
  const r = spawnSync('/bin/sh', ['-ec', script], { encoding: 'utf8' });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`script failed (exit ${r.status}):\n${script}\n--- output ---\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** Polls `probe` until it returns a value other than undefined, or fails after `ms`. */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 10000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A running agent: requests go in on its stdin, answers come back on its stdout. */
export class Agent {
  private next = 1;
  private readonly pending = new Map<number, { resolve: (v: Results[Op]) => void; reject: (e: Error) => void }>();
  private stderr = '';
  readonly ready: Promise<void>;

  constructor(
    readonly ns: string,
    private readonly child: ChildProcess,
  ) {
    let started: () => void = () => undefined;
    this.ready = new Promise((resolve) => (started = resolve));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const a = JSON.parse(line) as Answer;
      if (a.id === 0) return started();
      const p = this.pending.get(a.id);
      this.pending.delete(a.id);
      if (a.ok) p?.resolve(a.result);
      else p?.reject(new Error(`agent in ${this.ns}: ${a.error}`));
    });
    child.on('exit', (code, signal) => {
      const e = new Error(`agent in ${this.ns} exited (${signal ?? code}): ${this.stderr}`);
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    });
  }

  call<K extends Op>(req: RequestOf<K>): Promise<Results[K]> {
    const id = this.next++;
    return new Promise<Results[K]>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: Results[Op]) => void, reject });
      this.child.stdin!.write(`${JSON.stringify({ ...req, id })}\n`);
    });
  }

  /** Our ipvsadm in this namespace (in the agent's process; `spawn` runs bin/ipvsadm instead). */
  ours(args: string[], spawn = false): Promise<Run> {
    return this.call({ op: 'ours', args, spawn });
  }

  /** Our ipvsadm, which must succeed; returns its stdout. */
  async ok(args: string[], spawn = false): Promise<string> {
    const r = await this.ours(args, spawn);
    assert.equal(r.status, 0, `our ipvsadm ${args.join(' ')} in ${this.ns}: ${r.stderr}`);
    return r.stdout;
  }

  /** The reference ipvsadm in this namespace, which must succeed; returns its stdout. */
  async reference(args: string[]): Promise<string> {
    const r = await this.call({ op: 'reference', args });
    assert.equal(r.status, 0, `reference ipvsadm ${args.join(' ')} in ${this.ns}: ${r.stderr}`);
    return r.stdout;
  }

  /**
   * Asserts that our `ipvsadm args` prints byte for byte what the reference prints, taken at the
   * same moment: the reference runs just before and just after ours. When the two reference runs
   * agree, nothing changed in between and ours must equal them; when they differ (a timer ticked,
   * the estimator updated a counter), ours must equal one of them, and the sandwich is retried if
   * it equals neither. Each connection's expire column ticks at its own moment of the second, so
   * a table of a few dozen connections changes several times a second: hence the many attempts.
   * Returns our output.
   */
  async sameAsReference(args: string[]): Promise<string> {
    const attempts = 20;
    for (let attempt = 1; ; attempt++) {
      const { before, ours, after } = await this.call({ op: 'sandwich', args });
      assert.equal(before.status, 0, `reference ipvsadm ${args.join(' ')}: ${before.stderr}`);
      if (JSON.stringify(before) === JSON.stringify(after)) {
        assert.deepEqual(ours, before, `ipvsadm ${args.join(' ')} in ${this.ns}: ours (actual) against the reference (expected)`);
        return ours.stdout;
      }
      if (JSON.stringify(ours) === JSON.stringify(before) || JSON.stringify(ours) === JSON.stringify(after)) return ours.stdout;
      if (attempt === attempts) {
        assert.deepEqual(ours, after, `ipvsadm ${args.join(' ')} in ${this.ns}: the table kept changing; ours against the reference after`);
      }
    }
  }

  /** `count` requests from this namespace to host:port, each on a new connection. */
  get(host: string, port: number, count: number, from?: string): Promise<Reply[]> {
    return this.call({ op: 'get', host, port, count, from });
  }

  /** Response bodies of `count` requests, all of which must succeed. */
  async bodies(host: string, port: number, count: number, from?: string): Promise<string[]> {
    const replies = await this.get(host, port, count, from);
    const failed = replies.filter((r) => r.error !== undefined);
    assert.deepEqual(failed, [], `requests from ${this.ns} to ${host}:${port} failed`);
    return replies.map((r) => r.body ?? '');
  }

  serve(port: number, body: string): Promise<null> {
    return this.call({ op: 'serve', port, body });
  }

  unserve(port: number): Promise<null> {
    return this.call({ op: 'unserve', port });
  }

  exec(program: string, ...args: string[]): Promise<Run> {
    return this.call({ op: 'exec', program, args });
  }

  /** Ends the agent: closing stdin lets it exit; it is killed if it lingers. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(timer);
  }
}

/** A background program (keepalived) run in a namespace, with its output kept for diagnostics. */
export class Daemon {
  output = '';
  constructor(readonly child: ChildProcess) {
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (this.output += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (this.output += d));
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

/**
 * One scenario's namespaces, named `${prefix}-${role}`, plus `${prefix}-sw` holding the bridges.
 * `close()` removes everything, which also drops those namespaces' IPVS tables and connections.
 */
export class Lab {
  private readonly agents: Agent[] = [];
  private readonly daemons: Daemon[] = [];
  readonly roles: string[];

  constructor(
    readonly prefix: string,
    roles: string[],
  ) {
    this.roles = [...roles, 'sw'];
  }

  ns(role: string): string {
    return `${this.prefix}-${role}`;
  }

  /** Creates the namespaces (removing leftovers of an earlier, interrupted run) with lo up. */
  create(): void {
    this.remove();
    sh(this.roles.map((r) => `ip netns add ${this.ns(r)} && ip -n ${this.ns(r)} link set lo up`).join('\n'));
  }

  /** Shell lines: a bridge `name` in the switch namespace. */
  bridge(name: string): string {
    return `ip -n ${this.ns('sw')} link add ${name} type bridge && ip -n ${this.ns('sw')} link set ${name} up`;
  }

  /**
   * Shell lines: interface `ifname` in `role`'s namespace, cabled to `bridge`, with `addrs`.
   * The switch end is named `${role}-${ifname}` (IFNAMSIZ allows 15 characters).
   */
  plug(role: string, ifname: string, bridge: string, ...addrs: string[]): string {
    const ns = this.ns(role);
    const sw = this.ns('sw');
    const port = `${role}-${ifname}`;
    return [
      `ip -n ${sw} link add ${port} type veth peer name ${ifname} netns ${ns}`,
      `ip -n ${sw} link set ${port} master ${bridge} up`,
      ...addrs.map((a) => `ip -n ${ns} addr add ${a} dev ${ifname}`),
      `ip -n ${ns} link set ${ifname} up`,
    ].join('\n');
  }

  /** Shell line: a sysctl in `role`'s namespace. */
  sysctl(role: string, key: string, value: string | number): string {
    return `ip netns exec ${this.ns(role)} sysctl -qw ${key}=${value}`;
  }

  /**
   * Shell lines: a DR real server on the director's segment: its address on eth0 cabled to
   * `bridge`, the VIP on `lo`, and arp_ignore=1 / arp_announce=2 so that it never answers ARP
   * for the VIP (the director does).
   */
  drRealServer(role: string, bridge: string, addr: string, vip: string): string {
    return [
      this.plug(role, 'eth0', bridge, addr),
      `ip -n ${this.ns(role)} addr add ${vip}/32 dev lo`,
      ...['lo', 'all'].flatMap((d) => [
        this.sysctl(role, `net.ipv4.conf.${d}.arp_ignore`, 1),
        this.sysctl(role, `net.ipv4.conf.${d}.arp_announce`, 2),
      ]),
    ].join('\n');
  }

  /** Starts an agent in each of `roles` (in parallel: each costs a node start-up). */
  async start(...roles: string[]): Promise<Agent[]> {
    const started = roles.map((role) => {
      const child = spawn('ip', ['netns', 'exec', this.ns(role), process.execPath, AGENT], { stdio: ['pipe', 'pipe', 'pipe'] });
      const a = new Agent(this.ns(role), child);
      this.agents.push(a);
      return a;
    });
    await Promise.all(started.map((a) => a.ready));
    return started;
  }

  /** Runs a program in `role`'s namespace in the background until close(). */
  daemon(role: string, program: string, args: string[]): Daemon {
    const d = new Daemon(spawn('ip', ['netns', 'exec', this.ns(role), program, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }));
    this.daemons.push(d);
    return d;
  }

  async close(): Promise<void> {
    await Promise.all([...this.daemons.map((d) => d.stop()), ...this.agents.map((a) => a.stop())]);
    this.remove();
  }

  private remove(): void {
    spawnSync('/bin/sh', ['-c', this.roles.map((r) => `ip netns del ${this.ns(r)} 2>/dev/null`).join('; ')]);
  }
}

/** One line of `ipvsadm -L -n -c`. */
export interface ConnLine {
  protocol: string;
  expire: string;
  state: string;
  source: string;
  virtual: string;
  destination: string;
}

/** The entries of a `-L -n -c` listing. */
export function connections(listing: string): ConnLine[] {
  const out: ConnLine[] = [];
  for (const line of listing.split('\n').slice(2)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 6) continue;
    out.push({ protocol: f[0]!, expire: f[1]!, state: f[2]!, source: f[3]!, virtual: f[4]!, destination: f[5]! });
  }
  return out;
}

/** Counters of one row of `ipvsadm -L -n --stats --exact`. */
export interface Counters {
  conns: bigint;
  inPkts: bigint;
  outPkts: bigint;
  inBytes: bigint;
  outBytes: bigint;
}

/** Rows of a `--stats --exact` listing keyed by "TCP 192.168.1.100:81" and "-> 10.0.0.153:10000". */
export function stats(listing: string): Map<string, Counters> {
  const out = new Map<string, Counters>();
  let service = '';
  for (const line of listing.split('\n').slice(3)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 7) continue;
    const [a, b, conns, inPkts, outPkts, inBytes, outBytes] = f as [string, string, string, string, string, string, string];
    const key = a === '->' ? `${service} -> ${b}` : (service = `${a} ${b}`);
    out.set(key, {
      conns: BigInt(conns),
      inPkts: BigInt(inPkts),
      outPkts: BigInt(outPkts),
      inBytes: BigInt(inBytes),
      outBytes: BigInt(outBytes),
    });
  }
  return out;
}

/** How many times each value occurs. */
export function tally(values: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}
