import type {
  DestinationConfig,
  DestinationKey,
  Family,
  ServiceConfig,
  ServiceKey,
  SyncDaemon,
  Timeouts,
} from '../wire/index.js';

/** Which columns a listing shows (`--stats`, `--rate`, `--thresholds`, `--persistent-conn`, `--tun-info`). */
export type DisplayMode = 'default' | 'stats' | 'rate' | 'thresholds' | 'persistent-conn' | 'tun-info';

/** How `-L` and `-S` render: `-n`, `--exact`, the display mode, and `--nosort`. */
export interface ListFormat {
  numeric: boolean;
  exact: boolean;
  mode: DisplayMode;
  sort: boolean;
}

/** How a reporting `-R` (an extension) treats a failing line: report it and go on, or stop there. */
export type RestoreMode = 'keep-going' | 'stop-on-error';

/** One ipvsadm invocation after parsing and validation: what to ask the kernel. */
export type Command =
  | { kind: 'add-service' | 'edit-service'; service: ServiceKey; config: ServiceConfig }
  /** `-D`: `template` is the service nest ipvsadm sends with it (spec 7.4). */
  | { kind: 'delete-service'; service: ServiceKey; template: ServiceConfig }
  | { kind: 'flush' }
  | {
      kind: 'add-server' | 'edit-server' | 'delete-server';
      service: ServiceKey;
      template: ServiceConfig;
      dest: DestinationKey;
      config: DestinationConfig;
    }
  | {
      kind: 'list';
      /** `-L <service>`; absent lists everything. */
      service?: ServiceKey;
      format: ListFormat;
      /** `-c`, `--timeout`, `--daemon`: other tables instead of services. */
      what: 'services' | 'connections' | 'timeout' | 'daemon';
    }
  /** `-Z [service]`; absent (or the all-zero service) zeroes everything. */
  | { kind: 'zero'; service?: ServiceKey; template?: ServiceConfig }
  | { kind: 'set'; timeouts: Timeouts }
  | { kind: 'start-daemon'; daemon: SyncDaemon }
  | { kind: 'stop-daemon'; state: number; syncId: number }
  /** `-S [-n]`; `lossless` is the `--lossless` extension (absent without it). */
  | { kind: 'save'; numeric: boolean; lossless?: true }
  /** `-R`; `mode` and `input` are the `--keep-going`/`--stop-on-error` and `--input` extensions. */
  | { kind: 'restore'; mode?: RestoreMode; input?: string }
  | { kind: 'help' }
  | { kind: 'version' };

/** A command line that ipvsadm refuses: the text for stderr (without newline) and the exit status. */
export interface UsageError {
  message: string;
  status: 2 | 255;
}

/** Name lookups the grammar and the listings need, injected so tests need no network or /etc. */
export interface Resolver {
  /** Host name → address text of `family` (first match, as gethostbyname / gethostbyname2), or undefined. */
  hostAddress(name: string, family: Family): string | undefined;
  /** Address → host name (gethostbyaddr), or undefined. */
  hostName(address: string, family: Family): string | undefined;
  /** Service name → port for protocol "tcp" | "udp" | "sctp" (getservbyname), or undefined. */
  servicePort(name: string, protocol: string): number | undefined;
  /** Port → service name for the protocol (getservbyport), or undefined. */
  serviceName(port: number, protocol: string): string | undefined;
}
