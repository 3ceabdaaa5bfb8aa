/**
 * The web servers behind the director and the client in front of it. The client speaks HTTP
 * over raw sockets rather than through node's http module so that it knows exactly how many
 * payload bytes went each way (the --stats checks) and which local port each request used
 * (the connection-table checks).
 */
import { createServer, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Reply } from './protocol.js';

/** How long a request may take before it counts as failed: the bed is slow, a lost SYN is not. */
const REQUEST_TIMEOUT_MS = 4000;

const servers = new Map<number, Server>();

/** Answers every request with `${body}\n`, and tells the client which address it came from. */
export async function serve(port: number, body: string): Promise<void> {
  const server = createServer((req, res) => {
    res.setHeader('Content-Type', 'text/plain');
    res.setHeader('X-Client', `${req.socket.remoteAddress}:${req.socket.remotePort}`);
    res.end(`${body}\n`);
  });
  // Keep-alive connections must outlive node's default 5 s idle limit: the tests hold them open
  // across scheduler changes and a director failover.
  server.keepAliveTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '0.0.0.0', () => resolve());
  });
  servers.set(port, server);
}

/** Stops listening and cuts the open connections, as stopping a web server does. */
export async function unserve(port: number): Promise<void> {
  const server = servers.get(port);
  if (!server) return;
  servers.delete(port);
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeAllConnections();
  await closed;
}

interface Parsed {
  headers: Map<string, string>;
  body: Buffer;
  /** Bytes of the whole response, head included. */
  length: number;
}

/** One complete response at the start of `buf`, or undefined when more bytes are needed. */
function parseResponse(buf: Buffer, untilClose: boolean): Parsed | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const headers = new Map<string, string>();
  for (const line of buf.toString('latin1', 0, end).split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const start = end + 4;
  const declared = headers.get('content-length');
  if (declared === undefined) {
    return untilClose ? { headers, body: buf.subarray(start), length: buf.length } : undefined;
  }
  const length = start + Number(declared);
  if (buf.length < length) return undefined;
  return { headers, body: buf.subarray(start, length), length };
}

/** `local` is taken at connect time: a closed socket no longer knows its address. */
function reply(local: string | undefined, sent: number, received: number, parsed: Parsed): Reply {
  return { body: parsed.body.toString('utf8').trim(), seenBy: parsed.headers.get('x-client'), local, sent, received };
}

function failure(e: unknown, sent: number, received: number, local?: string): Reply {
  const code = (e as NodeJS.ErrnoException).code ?? String(e);
  return { error: code, sent, received, local };
}

/** One HTTP/1.0 GET on a fresh connection; the server closes it after answering. */
export function get(host: string, port: number, from?: string): Promise<Reply> {
  return new Promise((resolve) => {
    const request = `GET / HTTP/1.0\r\nHost: ${host}:${port}\r\n\r\n`;
    const chunks: Buffer[] = [];
    let local: string | undefined;
    const socket = connect({ host, port, localAddress: from });
    socket.setTimeout(REQUEST_TIMEOUT_MS, () => socket.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    socket.on('connect', () => {
      local = `${socket.localAddress}:${socket.localPort}`;
      socket.end(request);
    });
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', (e) => resolve(failure(e, socket.bytesWritten, socket.bytesRead, local)));
    socket.on('close', (hadError) => {
      if (hadError) return;
      const parsed = parseResponse(Buffer.concat(chunks), true);
      if (!parsed) resolve(failure(new Error('incomplete response'), socket.bytesWritten, socket.bytesRead, local));
      else resolve(reply(local, socket.bytesWritten, socket.bytesRead, parsed));
    });
  });
}

/** A kept-alive HTTP/1.1 connection: several requests, one TCP connection, one real server. */
export class Session {
  private buf = Buffer.alloc(0);
  private waiting: ((r: Reply) => void) | undefined;
  private sentBefore = 0;
  private readBefore = 0;
  private closedBy: string | undefined;
  private readonly local: string;

  private constructor(
    private readonly socket: Socket,
    private readonly host: string,
  ) {
    this.local = `${socket.localAddress}:${socket.localPort}`;
    socket.setNoDelay(true);
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      const parsed = parseResponse(this.buf, false);
      if (!parsed || !this.waiting) return;
      this.buf = this.buf.subarray(parsed.length);
      const r = reply(this.local, socket.bytesWritten - this.sentBefore, socket.bytesRead - this.readBefore, parsed);
      this.settle(r);
    });
    socket.on('error', (e) => this.end((e as NodeJS.ErrnoException).code ?? String(e)));
    socket.on('close', () => this.end('ECONNRESET'));
  }

  static open(host: string, port: number, from?: string): Promise<Session> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port, localAddress: from });
      const timer = setTimeout(() => socket.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })), REQUEST_TIMEOUT_MS);
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(new Session(socket, `${host}:${port}`));
      });
    });
  }

  /** One request on the connection; fails (error set) if the connection is gone or silent. */
  request(): Promise<Reply> {
    if (this.closedBy !== undefined) return Promise.resolve(failure({ code: this.closedBy }, 0, 0, this.local));
    this.sentBefore = this.socket.bytesWritten;
    this.readBefore = this.socket.bytesRead;
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.settle(failure({ code: 'ETIMEDOUT' }, 0, 0, this.local)), REQUEST_TIMEOUT_MS);
      this.waiting = (r) => {
        clearTimeout(timer);
        resolve(r);
      };
      this.socket.write(`GET / HTTP/1.1\r\nHost: ${this.host}\r\n\r\n`);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private settle(r: Reply): void {
    const w = this.waiting;
    this.waiting = undefined;
    w?.(r);
  }

  private end(code: string): void {
    this.closedBy ??= code;
    this.settle(failure({ code }, 0, 0, this.local));
  }
}
