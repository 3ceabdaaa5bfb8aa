/**
 * The agent: started by lab.ts inside one network namespace (`ip netns exec NS node agent.js`),
 * it does there what the test asks, one JSON request per stdin line, one JSON answer per stdout
 * line (protocol.ts). One long-lived process per namespace, because starting node costs about a
 * second under the bed's emulated CPU and the scenarios need hundreds of requests and listings.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { main, type CliIo } from '../../../src/cli/main.js';
import { Ipvs } from '../../../src/index.js';
import { get, serve, Session, unserve } from './http.js';
import type { Answer, Envelope, Op, Request, Results, Run } from './protocol.js';

/** bin/ipvsadm of this project (the agent runs from dist/test/kernel/traffic/). */
const OUR_BIN = fileURLToPath(new URL('../../../../bin/ipvsadm', import.meta.url));

/** Runs a program to completion, without blocking the servers this process may also run. */
function exec(program: string, args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ stdout, stderr, status }));
  });
}

async function* noInput(): AsyncGenerator<Buffer> {
  // ipvsadm reads stdin only for -R, which the scenarios do not use.
}

/** Our ipvsadm exactly as bin/ipvsadm runs it, with argv and stdio injected. */
async function oursInProcess(args: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    argv0: 'ipvsadm',
    stdin: noInput(),
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    env: {},
    stdoutIsTTY: false,
    openKernel: () => Ipvs.open(),
    readFile: (p) => readFileSync(p, 'utf8'),
  };
  const status = await main(args, io);
  return { stdout, stderr, status };
}

const sessions = new Map<string, Session>();

function session(name: string): Session {
  const s = sessions.get(name);
  if (!s) throw new Error(`no open connection named ${name}`);
  return s;
}

type Handlers = { [K in Op]: (r: Extract<Request, { op: K }>) => Promise<Results[K]> };

const handlers: Handlers = {
  ours: (r) => (r.spawn ? exec(process.execPath, [OUR_BIN, ...r.args]) : oursInProcess(r.args)),
  reference: (r) => exec('ipvsadm', r.args),
  sandwich: async (r) => {
    const before = await exec('ipvsadm', r.args);
    const ours = await oursInProcess(r.args);
    const after = await exec('ipvsadm', r.args);
    return { before, ours, after };
  },
  exec: (r) => exec(r.program, r.args),
  serve: async (r) => {
    await serve(r.port, r.body);
    return null;
  },
  unserve: async (r) => {
    await unserve(r.port);
    return null;
  },
  get: async (r) => {
    const replies = [];
    for (let i = 0; i < r.count; i++) replies.push(await get(r.host, r.port, r.from));
    return replies;
  },
  open: async (r) => {
    sessions.get(r.name)?.close();
    const s = await Session.open(r.host, r.port, r.from);
    sessions.set(r.name, s);
    return s.request();
  },
  again: (r) => session(r.name).request(),
  close: async (r) => {
    sessions.get(r.name)?.close();
    sessions.delete(r.name);
    return null;
  },
};

function handle(req: Request): Promise<Results[Op]> {
  // The mapped type guarantees each handler receives its own request shape.
  const h = handlers[req.op] as (r: Request) => Promise<Results[Op]>;
  return h(req);
}

function answer(a: Answer): void {
  process.stdout.write(`${JSON.stringify(a)}\n`);
}

// Requests are handled one at a time, in order: the test awaits each answer anyway, and
// ordering keeps a listing from overtaking the change before it.
let queue = Promise.resolve();
createInterface({ input: process.stdin }).on('line', (line) => {
  const env = JSON.parse(line) as Envelope;
  queue = queue.then(async () => {
    try {
      answer({ id: env.id, ok: true, result: await handle(env) });
    } catch (e) {
      answer({ id: env.id, ok: false, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    }
  });
});
process.stdin.on('end', () => process.exit(0));
answer({ id: 0, ok: true, result: null });
