/**
 * The one table of numbers this project speaks: netlink and generic-netlink framing plus every
 * IPVS command, attribute and flag of the kernel's include/uapi/linux/ip_vs.h (identical in 6.1
 * and 6.12). Nothing else in the project spells these numbers.
 */

/** Netlink protocol number of generic netlink (socket(AF_NETLINK, SOCK_RAW, NETLINK_GENERIC)). */
export const NETLINK_GENERIC = 16;

/** nlmsghdr flags and control message types (include/uapi/linux/netlink.h). */
export const NLM_F = {
  REQUEST: 0x1,
  MULTI: 0x2,
  ACK: 0x4,
  ECHO: 0x8,
  DUMP_INTR: 0x10,
  DUMP_FILTERED: 0x20,
  ROOT: 0x100,
  MATCH: 0x200,
  DUMP: 0x300,
  /** On NLMSG_ERROR: the echoed request was cut to its header. */
  CAPPED: 0x100,
  /** On NLMSG_ERROR: extended-ACK TLVs follow. */
  ACK_TLVS: 0x200,
} as const;

/** Control message types. */
export const NLMSG = { NOOP: 1, ERROR: 2, DONE: 3, OVERRUN: 4 } as const;

/** Extended-ACK TLV types carried after an NLMSG_ERROR payload. */
export const NLMSGERR_ATTR = { MSG: 1, OFFS: 2, COOKIE: 3, POLICY: 4, MISS_TYPE: 5, MISS_NEST: 6 } as const;

/** Flag bit marking a nested attribute; the kernel's replies leave it clear, ipvsadm sets it. */
export const NLA_F_NESTED = 0x8000;
/** Flag bit marking network byte order; part of the type field, never of the attribute number. */
export const NLA_F_NET_BYTEORDER = 0x4000;
/** Mask that strips both flag bits from nla_type. */
export const NLA_TYPE_MASK = ~(NLA_F_NESTED | NLA_F_NET_BYTEORDER) & 0xffff;

/** Header sizes in bytes. */
export const NLMSG_HDRLEN = 16;
export const GENL_HDRLEN = 4;
export const NLA_HDRLEN = 4;

/** The generic-netlink controller, used once per handle to resolve the IPVS family id. */
export const GENL_ID_CTRL = 0x10;
export const CTRL_CMD = { GETFAMILY: 3, NEWFAMILY: 1 } as const;
export const CTRL_ATTR = { FAMILY_ID: 1, FAMILY_NAME: 2, VERSION: 3, HDRSIZE: 4, MAXATTR: 5 } as const;

/** Family name and version of IPVS (IPVS_GENL_NAME, IPVS_GENL_VERSION). */
export const IPVS_GENL_NAME = 'IPVS';
export const IPVS_GENL_VERSION = 1;

/** Address families as the kernel numbers them. */
export const AF_INET = 2;
export const AF_INET6 = 10;

/** IP protocol numbers a virtual service may carry. */
export const IPPROTO = { TCP: 6, UDP: 17, SCTP: 132 } as const;

/** IPVS_CMD_*: generic-netlink commands. */
export const IPVS_CMD = {
  NEW_SERVICE: 1,
  SET_SERVICE: 2,
  DEL_SERVICE: 3,
  GET_SERVICE: 4,
  NEW_DEST: 5,
  SET_DEST: 6,
  DEL_DEST: 7,
  GET_DEST: 8,
  NEW_DAEMON: 9,
  DEL_DAEMON: 10,
  GET_DAEMON: 11,
  SET_CONFIG: 12,
  GET_CONFIG: 13,
  SET_INFO: 14,
  GET_INFO: 15,
  ZERO: 16,
  FLUSH: 17,
} as const;

/** IPVS_CMD_ATTR_*: top-level attributes. */
export const IPVS_CMD_ATTR = {
  SERVICE: 1,
  DEST: 2,
  DAEMON: 3,
  TIMEOUT_TCP: 4,
  TIMEOUT_TCP_FIN: 5,
  TIMEOUT_UDP: 6,
} as const;

/** IPVS_SVC_ATTR_*: inside the SERVICE nest. */
export const IPVS_SVC_ATTR = {
  AF: 1,
  PROTOCOL: 2,
  ADDR: 3,
  PORT: 4,
  FWMARK: 5,
  SCHED_NAME: 6,
  FLAGS: 7,
  TIMEOUT: 8,
  NETMASK: 9,
  STATS: 10,
  PE_NAME: 11,
  STATS64: 12,
} as const;

/** IPVS_DEST_ATTR_*: inside the DEST nest. */
export const IPVS_DEST_ATTR = {
  ADDR: 1,
  PORT: 2,
  FWD_METHOD: 3,
  WEIGHT: 4,
  U_THRESH: 5,
  L_THRESH: 6,
  ACTIVE_CONNS: 7,
  INACT_CONNS: 8,
  PERSIST_CONNS: 9,
  STATS: 10,
  ADDR_FAMILY: 11,
  STATS64: 12,
  TUN_TYPE: 13,
  TUN_PORT: 14,
  TUN_FLAGS: 15,
} as const;

/** IPVS_DAEMON_ATTR_*: inside the DAEMON nest. */
export const IPVS_DAEMON_ATTR = {
  STATE: 1,
  MCAST_IFN: 2,
  SYNC_ID: 3,
  SYNC_MAXLEN: 4,
  MCAST_GROUP: 5,
  MCAST_GROUP6: 6,
  MCAST_PORT: 7,
  MCAST_TTL: 8,
} as const;

/** IPVS_STATS_ATTR_*: inside STATS and STATS64 nests. */
export const IPVS_STATS_ATTR = {
  CONNS: 1,
  INPKTS: 2,
  OUTPKTS: 3,
  INBYTES: 4,
  OUTBYTES: 5,
  CPS: 6,
  INPPS: 7,
  OUTPPS: 8,
  INBPS: 9,
  OUTBPS: 10,
  PAD: 11,
} as const;

/** IPVS_INFO_ATTR_*: top level of the GET_INFO reply. */
export const IPVS_INFO_ATTR = { VERSION: 1, CONN_TAB_SIZE: 2 } as const;

/** IP_VS_SVC_F_*: virtual service flags. */
export const IP_VS_SVC_F = {
  PERSISTENT: 0x0001,
  /** Set by the kernel on every live service; stripped at decode, never sent. */
  HASHED: 0x0002,
  ONEPACKET: 0x0004,
  SCHED1: 0x0008,
  SCHED2: 0x0010,
  SCHED3: 0x0020,
} as const;

/** IP_VS_CONN_F_*: forwarding methods (the low three bits of a destination's conn flags). */
export const IP_VS_CONN_F = {
  FWD_MASK: 0x0007,
  MASQ: 0,
  LOCALNODE: 1,
  TUNNEL: 2,
  DROUTE: 3,
} as const;

/** IP_VS_CONN_F_TUNNEL_TYPE_*. */
export const IP_VS_TUNNEL_TYPE = { IPIP: 0, GUE: 1, GRE: 2 } as const;

/** IP_VS_TUNNEL_ENCAP_FLAG_*. */
export const IP_VS_TUNNEL_FLAG = { NOCSUM: 0, CSUM: 1, REMCSUM: 2 } as const;

/** IP_VS_STATE_*: sync daemon states. */
export const IP_VS_STATE = { NONE: 0, MASTER: 1, BACKUP: 2 } as const;

/** Kernel string limits (buffer sizes including the NUL). */
export const IP_VS_SCHEDNAME_MAXLEN = 16;
export const IP_VS_PENAME_MAXLEN = 16;
export const IP_VS_IFNAME_MAXLEN = 16;

/** IP_VS_VERSION_CODE the kernels we support report (printed 1.2.1). */
export const IP_VS_VERSION_CODE = 0x010201;

/** Names of the IPVS commands, for error messages and the debug trace. */
export const IPVS_CMD_NAME: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(IPVS_CMD).map(([name, value]) => [value, name]),
);
