/**
 * What the test process and an agent (agent.ts, one node process inside each network namespace)
 * say to each other: one JSON object per line each way. A process cannot change its own network
 * namespace in node, so everything that must happen "on the director" or "on the client" is a
 * request to the agent started there.
 */

/** How one program run ended. */
export interface Run {
  stdout: string;
  stderr: string;
  status: number | null;
}

/** One HTTP/1.0 request as the client saw it. */
export interface Reply {
  /** Trimmed response body ("153"), or undefined when the request failed. */
  body?: string;
  /** The client address the server saw (the X-Client header it sends back), "ip:port". */
  seenBy?: string;
  /** Our end of the connection, "ip:port". */
  local?: string;
  /** Bytes the client wrote and read on the connection (TCP payload, not headers). */
  sent: number;
  received: number;
  /** errno code (ECONNREFUSED, ETIMEDOUT, ...) when the request failed. */
  error?: string;
}

export type Request =
  /** Our ipvsadm: main() in the agent's process, or bin/ipvsadm spawned there. */
  | { op: 'ours'; args: string[]; spawn?: boolean }
  /** Debian's ipvsadm, the reference. */
  | { op: 'reference'; args: string[] }
  /** The reference, ours in-process, the reference again, back to back (see lab.ts sameAsReference). */
  | { op: 'sandwich'; args: string[] }
  /** Any program, from PATH. */
  | { op: 'exec'; program: string; args: string[] }
  /** An HTTP server on 0.0.0.0:port answering `${body}\n` with the client's address in X-Client. */
  | { op: 'serve'; port: number; body: string }
  /** Stops the server on port and drops its open connections. */
  | { op: 'unserve'; port: number }
  /** `count` HTTP/1.0 GETs one after the other, each on a new connection. */
  | { op: 'get'; host: string; port: number; count: number; from?: string }
  /** Opens a keep-alive HTTP/1.1 connection under `name` and makes one request on it. */
  | { op: 'open'; name: string; host: string; port: number; from?: string }
  /** One more request on the named keep-alive connection. */
  | { op: 'again'; name: string }
  /** Closes the named connection. */
  | { op: 'close'; name: string };

/** The result each request resolves to. */
export interface Results {
  ours: Run;
  reference: Run;
  sandwich: { before: Run; ours: Run; after: Run };
  exec: Run;
  serve: null;
  unserve: null;
  get: Reply[];
  open: Reply;
  again: Reply;
  close: null;
}

export type Op = Request['op'];
export type RequestOf<K extends Op> = Extract<Request, { op: K }>;

/** A request on the wire: the request and its sequence number. */
export type Envelope = Request & { id: number };

/** An answer on the wire. */
export type Answer = { id: number; ok: true; result: Results[Op] } | { id: number; ok: false; error: string };
