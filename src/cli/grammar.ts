/**
 * The command-line grammar of ipvsadm 1.31 as data (spec §2.2, §2.3, §2.4, §2.5.5, §2.5.8, §2.6,
 * §2.7 step 7d). Everything a reader needs to know about which token means what, which value an
 * option accepts and which option goes with which command is in the tables below; parse.ts only
 * walks them.
 */

/** Whether an option letter or name is followed by a value (spec §2.1 rules 4, 5 and 9). */
export type ArgKind = 'none' | 'required' | 'optional';

/** The internal command names of §2.2, as printed in `'<cmd>' command` messages. */
export type CommandName =
  | 'add-service'
  | 'edit-service'
  | 'delete-service'
  | 'flush'
  | 'restore'
  | 'save'
  | 'add-server'
  | 'edit-server'
  | 'delete-server'
  | 'list'
  | 'zero'
  | 'set'
  | 'start-daemon'
  | 'stop-daemon';

/** `-h` and `-v`: act at once when they are the first option (§2.1 rule 2). */
export type ImmediateName = 'help' | 'version';

export interface CommandEntry {
  readonly short: readonly string[];
  readonly long: string;
  /** `required` only for the daemon commands (`master` | `backup`); `--set` takes positionals. */
  readonly arg: ArgKind;
  readonly name: CommandName | ImmediateName;
}

// prettier-ignore
/** §2.2: every command. */
export const COMMANDS: readonly CommandEntry[] = [
  // short        long                argument     internal name
  { short: ['A'],      long: 'add-service',    arg: 'none',     name: 'add-service' },
  { short: ['E'],      long: 'edit-service',   arg: 'none',     name: 'edit-service' },
  { short: ['D'],      long: 'delete-service', arg: 'none',     name: 'delete-service' },
  { short: ['C'],      long: 'clear',          arg: 'none',     name: 'flush' },
  { short: ['R'],      long: 'restore',        arg: 'none',     name: 'restore' },
  { short: ['S'],      long: 'save',           arg: 'none',     name: 'save' },
  { short: ['a'],      long: 'add-server',     arg: 'none',     name: 'add-server' },
  { short: ['e'],      long: 'edit-server',    arg: 'none',     name: 'edit-server' },
  { short: ['d'],      long: 'delete-server',  arg: 'none',     name: 'delete-server' },
  { short: ['L', 'l'], long: 'list',           arg: 'none',     name: 'list' },
  { short: ['Z'],      long: 'zero',           arg: 'none',     name: 'zero' },
  { short: [],         long: 'set',            arg: 'none',     name: 'set' },          // + three positionals
  { short: [],         long: 'start-daemon',   arg: 'required', name: 'start-daemon' }, // master | backup
  { short: [],         long: 'stop-daemon',    arg: 'required', name: 'stop-daemon' },  // master | backup
  { short: ['h'],      long: 'help',           arg: 'none',     name: 'help' },
  { short: ['v'],      long: 'version',        arg: 'none',     name: 'version' },
];

/** The internal option names of §2.3, indexed by their compatibility bit. */
export const OPTION_NAMES = [
  'numeric', //          0
  'connection', //       1
  'service-address', //  2
  'scheduler', //        3
  'persistent', //       4
  'netmask', //          5
  'real-server', //      6
  'forwarding-method', // 7
  'weight', //           8
  'u-threshold', //      9
  'l-threshold', //      10
  'mcast-interface', //  11
  'timeout', //          12
  'daemon', //           13
  'stats', //            14
  'rate', //             15
  'thresholds', //       16
  'persistent-conn', //  17
  'nosort', //           18
  'syncid', //           19
  'exact', //            20
  'ops', //              21
  'pe', //               22
  'sched-flags', //      23
  'mcast-group', //      24
  'mcast-port', //       25
  'mcast-ttl', //        26
  'sync-maxlen', //      27
  'tun-info', //         28
  'tun-type', //         29
  'tun-port', //         30
  'tun-nocsum', //       31
  'tun-csum', //         32
  'tun-remcsum', //      33
  // Extensions (not in ipvsadm 1.31, so no existing command line can contain them; see
  // docs in man/ipvsadm.8, "EXTENSIONS"). Their bits come after every ipvsadm bit, so the
  // error a command line without them gets is unchanged.
  'lossless', //         34  -S: also timeouts, thresholds, daemons; every line restorable
  'keep-going', //       35  -R: report FILE:LINE of every failing line, go on
  'stop-on-error', //    36  -R: report FILE:LINE of the first failing line, stop there
  'input', //            37  -R: read FILE instead of stdin
] as const;

export type OptionName = (typeof OPTION_NAMES)[number];

/** The bit of an option name (its index in OPTION_NAMES). */
export function optionBit(name: OptionName): number {
  return OPTION_NAMES.indexOf(name);
}

export interface OptionEntry {
  /** The compatibility bit's name; null for `-6` and `--sort`, which are never checked. */
  readonly name: OptionName | null;
  readonly short: string | null;
  /** Unique per row: parse.ts dispatches on it. */
  readonly long: string;
  readonly arg: ArgKind;
}

// prettier-ignore
/** §2.3: every option. Rows sharing a name share a bit (giving two is `multiple '<name>' options`). */
export const OPTIONS: readonly OptionEntry[] = [
  // bit name              short  long                argument
  { name: 'numeric',           short: 'n',  long: 'numeric',           arg: 'none' },     //  0
  { name: 'connection',        short: 'c',  long: 'connection',        arg: 'none' },     //  1
  { name: 'service-address',   short: 't',  long: 'tcp-service',       arg: 'required' }, //  2 host[:port], TCP
  { name: 'service-address',   short: 'u',  long: 'udp-service',       arg: 'required' }, //  2 host[:port], UDP
  { name: 'service-address',   short: null, long: 'sctp-service',      arg: 'required' }, //  2 host[:port], SCTP
  { name: 'service-address',   short: 'f',  long: 'fwmark-service',    arg: 'required' }, //  2 1..4294967295
  { name: 'scheduler',         short: 's',  long: 'scheduler',         arg: 'required' }, //  3 cut to 15 bytes
  { name: 'persistent',        short: 'p',  long: 'persistent',        arg: 'optional' }, //  4 1..2678400, default 360
  { name: 'netmask',           short: 'M',  long: 'netmask',           arg: 'required' }, //  5
  { name: 'real-server',       short: 'r',  long: 'real-server',       arg: 'required' }, //  6 host[:port]
  { name: 'forwarding-method', short: 'g',  long: 'gatewaying',        arg: 'none' },     //  7 direct routing (3)
  { name: 'forwarding-method', short: 'i',  long: 'ipip',              arg: 'none' },     //  7 tunnel (2)
  { name: 'forwarding-method', short: 'm',  long: 'masquerading',      arg: 'none' },     //  7 NAT (0)
  { name: 'weight',            short: 'w',  long: 'weight',            arg: 'required' }, //  8
  { name: 'u-threshold',       short: 'x',  long: 'u-threshold',       arg: 'required' }, //  9
  { name: 'l-threshold',       short: 'y',  long: 'l-threshold',       arg: 'required' }, // 10
  { name: 'mcast-interface',   short: null, long: 'mcast-interface',   arg: 'required' }, // 11 cut to 15 bytes
  { name: 'timeout',           short: null, long: 'timeout',           arg: 'none' },     // 12
  { name: 'daemon',            short: null, long: 'daemon',            arg: 'none' },     // 13
  { name: 'stats',             short: null, long: 'stats',             arg: 'none' },     // 14
  { name: 'rate',              short: null, long: 'rate',              arg: 'none' },     // 15
  { name: 'thresholds',        short: null, long: 'thresholds',        arg: 'none' },     // 16
  { name: 'persistent-conn',   short: null, long: 'persistent-conn',   arg: 'none' },     // 17
  { name: 'nosort',            short: null, long: 'nosort',            arg: 'none' },     // 18
  { name: 'syncid',            short: null, long: 'syncid',            arg: 'required' }, // 19
  { name: 'exact',             short: 'X',  long: 'exact',             arg: 'none' },     // 20 (-X undocumented)
  { name: 'ops',               short: 'o',  long: 'ops',               arg: 'none' },     // 21
  { name: 'pe',                short: null, long: 'pe',                arg: 'required' }, // 22 cut to 16 bytes
  { name: 'sched-flags',       short: 'b',  long: 'sched-flags',       arg: 'required' }, // 23
  { name: 'mcast-group',       short: null, long: 'mcast-group',       arg: 'required' }, // 24
  { name: 'mcast-port',        short: null, long: 'mcast-port',        arg: 'required' }, // 25
  { name: 'mcast-ttl',         short: null, long: 'mcast-ttl',         arg: 'required' }, // 26
  { name: 'sync-maxlen',       short: null, long: 'sync-maxlen',       arg: 'required' }, // 27
  { name: 'tun-info',          short: null, long: 'tun-info',          arg: 'none' },     // 28
  { name: 'tun-type',          short: null, long: 'tun-type',          arg: 'required' }, // 29
  { name: 'tun-port',          short: null, long: 'tun-port',          arg: 'required' }, // 30
  { name: 'tun-nocsum',        short: null, long: 'tun-nocsum',        arg: 'none' },     // 31
  { name: 'tun-csum',          short: null, long: 'tun-csum',          arg: 'none' },     // 32
  { name: 'tun-remcsum',       short: null, long: 'tun-remcsum',       arg: 'none' },     // 33
  { name: 'lossless',          short: null, long: 'lossless',          arg: 'none' },     // 34 extension
  { name: 'keep-going',        short: null, long: 'keep-going',        arg: 'none' },     // 35 extension
  { name: 'stop-on-error',     short: null, long: 'stop-on-error',     arg: 'none' },     // 36 extension
  { name: 'input',             short: null, long: 'input',             arg: 'required' }, // 37 extension, FILE or -
  { name: null,                short: '6',  long: 'ipv6',              arg: 'none' },     //  – needs an earlier -f
  { name: null,                short: null, long: 'sort',              arg: 'none' },     //  – no-op, any command
];

/** R, o and 1 of §2.6; an option absent from a command's row is illegal with it. */
export type Usage = 'required' | 'optional' | 'exclusive';

const R = 'required';
const o = 'optional';
const x1 = 'exclusive';

// prettier-ignore
/** §2.6: which options each command takes. Checked bit 0 → 33, the lowest offending bit is reported. */
export const COMPATIBILITY: Readonly<Record<CommandName, Readonly<Partial<Record<OptionName, Usage>>>>> = {
  'add-service':    { 'service-address': R, scheduler: o, persistent: o, netmask: o, ops: o, pe: o, 'sched-flags': o },
  'edit-service':   { 'service-address': R, scheduler: o, persistent: o, netmask: o, ops: o, pe: o, 'sched-flags': o },
  'delete-service': { 'service-address': R },
  'flush':          {},
  'list':           { numeric: o, connection: x1, 'service-address': x1, timeout: x1, daemon: x1, stats: o, rate: o,
                      thresholds: o, 'persistent-conn': o, nosort: o, syncid: o, exact: o, 'tun-info': o },
  'add-server':     { 'service-address': R, 'real-server': R, 'forwarding-method': o, weight: o, 'u-threshold': o,
                      'l-threshold': o, 'tun-type': o, 'tun-port': o, 'tun-nocsum': o, 'tun-csum': o, 'tun-remcsum': o },
  'edit-server':    { 'service-address': R, 'real-server': R, 'forwarding-method': o, weight: o, 'u-threshold': o,
                      'l-threshold': o, 'tun-type': o, 'tun-port': o, 'tun-nocsum': o, 'tun-csum': o, 'tun-remcsum': o },
  'delete-server':  { 'service-address': R, 'real-server': R },
  'set':            {},
  'start-daemon':   { 'mcast-interface': o, syncid: o, 'mcast-group': o, 'mcast-port': o, 'mcast-ttl': o, 'sync-maxlen': o },
  'stop-daemon':    { syncid: o },
  'restore':        { 'keep-going': x1, 'stop-on-error': x1, input: o },
  'save':           { numeric: o, lossless: o },
  'zero':           { 'service-address': o },
};

/** An integer option value (§2.4): C strtol base 10 over the whole text, then this range. */
export interface IntegerRule {
  readonly min: number;
  readonly max: number;
  /** The message; `%s` stands for the value as given. */
  readonly error: string;
}

const INT_MAX = 2147483647;
/** The longest persistence / connection timeout ipvsadm accepts: 31 days. */
export const MAX_TIMEOUT = 2678400;
/** `-p` without a value (the man page's 300 is wrong, §2.5.7). */
export const DEFAULT_PERSISTENCE = 360;

// prettier-ignore
/** §2.4: ranges and error texts of the integer options. */
export const INTEGER_RULES = {
  weight:        { min: 0, max: INT_MAX,     error: 'illegal weight specified' },
  'u-threshold': { min: 0, max: INT_MAX,     error: 'illegal u_threshold specified' },
  'l-threshold': { min: 0, max: INT_MAX,     error: 'illegal l_threshold specified' },
  persistent:    { min: 1, max: MAX_TIMEOUT, error: "invalid timeout value `%s' specified" },
  set:           { min: 0, max: MAX_TIMEOUT, error: "invalid timeout value `%s' specified" },
  syncid:        { min: 0, max: 255,         error: 'illegal syncid specified' },
  'mcast-port':  { min: 1, max: 65535,       error: 'illegal mcast-port specified' },
  'mcast-ttl':   { min: 1, max: 255,         error: 'illegal mcast-ttl specified' },
  'sync-maxlen': { min: 1, max: 65507,       error: 'illegal sync-maxlen specified' },
  'tun-port':    { min: 1, max: 65535,       error: 'illegal tunnel port specified' },
  fwmark:        { min: 1, max: 4294967295,  error: "invalid fwmark value `%s' specified" },
  port:          { min: 0, max: 65535,       error: '' /* a bad port falls back to a service name */ },
} as const satisfies Record<string, IntegerRule>;

/** Byte limits of copied strings (§2.5.3). */
export const STRING_LIMITS = { scheduler: 15, 'mcast-interface': 15, pe: 16 } as const;

// prettier-ignore
/** §2.5.8: `-b` tokens, the flag bit each sets and the scheduler it needs (null = any). */
export const SCHED_FLAGS: Readonly<Record<string, { readonly bit: number; readonly scheduler: string | null }>> = {
  'flag-1':      { bit: 0x0008, scheduler: null },
  'flag-2':      { bit: 0x0010, scheduler: null },
  'flag-3':      { bit: 0x0020, scheduler: null },
  'sh-fallback': { bit: 0x0008, scheduler: 'sh' },
  'sh-port':     { bit: 0x0010, scheduler: 'sh' },
  'mh-fallback': { bit: 0x0008, scheduler: 'mh' },
  'mh-port':     { bit: 0x0010, scheduler: 'mh' },
};
/** The service flag bits `-b` replaces. */
export const SCHED_FLAG_MASK = 0x0038;
/** The scheduler `-A`/`-E` use, and `-b` checks against, when `-s` is absent or empty. */
export const DEFAULT_SCHEDULER = 'wlc';

/** §2.5.5: `--tun-type` values and their IP_VS_CONN_F_TUNNEL_TYPE numbers. */
export const TUNNEL_TYPES: Readonly<Record<string, number>> = { ipip: 0, gue: 1, gre: 2 };

/** The tunnel options of §2.7 step 7c/7d, in the order they are checked. */
export const TUNNEL_OPTIONS = ['tun-port', 'tun-nocsum', 'tun-csum', 'tun-remcsum'] as const;
export type TunnelOption = (typeof TUNNEL_OPTIONS)[number];

// prettier-ignore
/** §2.7 step 7d: per tunnel type, each tunnel option (absent = illegal with that type). */
export const TUNNEL_COMPATIBILITY: Readonly<Record<string, Readonly<Partial<Record<TunnelOption, Usage>>>>> = {
  ipip: {},
  gue:  { 'tun-port': R, 'tun-nocsum': x1, 'tun-csum': x1, 'tun-remcsum': x1 },
  gre:  {                'tun-nocsum': x1, 'tun-csum': x1 },
};

/** `--tun-nocsum`, `--tun-csum`, `--tun-remcsum`: IP_VS_TUNNEL_ENCAP_FLAG_* values. */
export const TUNNEL_FLAGS: Readonly<Partial<Record<OptionName, number>>> = {
  'tun-nocsum': 0,
  'tun-csum': 1,
  'tun-remcsum': 2,
};

/** `-g`, `-i`, `-m`: IP_VS_CONN_F forwarding methods. */
export const FORWARDING: Readonly<Record<string, number>> = { gatewaying: 3, ipip: 2, masquerading: 0 };

/** `--tcp-service` & co.: the IP protocol and the /etc/services protocol name used for port names. */
export const SERVICE_PROTOCOLS: Readonly<Record<string, { readonly protocol: number; readonly name: string }>> = {
  'tcp-service': { protocol: 6, name: 'tcp' },
  'udp-service': { protocol: 17, name: 'udp' },
  'sctp-service': { protocol: 132, name: 'sctp' },
  // A fwmark service resolves destination port names as TCP (§2.5.1 step 5).
  'fwmark-service': { protocol: 6, name: 'tcp' },
};

/** `--start-daemon` / `--stop-daemon` values: IP_VS_STATE_MASTER / BACKUP. */
export const DAEMON_STATES: Readonly<Record<string, number>> = { master: 1, backup: 2 };
/** `--mcast-interface` when absent (or empty). */
export const DEFAULT_MCAST_INTERFACE = 'eth0';
