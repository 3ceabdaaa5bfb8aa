/**
 * The modifying commands (`-A -E -D -C -Z -a -e -d --set --start-daemon --stop-daemon`) as the
 * library's change values, so that a single command and a pipelined `-R` take the same path.
 */
import type { IpvsChange } from '../model/index.js';
import type { ErrorContext } from './errors.js';
import type { Command } from './types.js';

/** A modifying command's change and the error texts that apply to it (null: keep the last ones, as `-C` does). */
export interface Modification {
  change: IpvsChange;
  context: ErrorContext | null;
}

/** The change a command makes; undefined for listings, `-R`, `-h`, `-v`. */
export function modificationOf(cmd: Command): Modification | undefined {
  switch (cmd.kind) {
    case 'add-service':
    case 'edit-service':
      return { change: { op: cmd.kind, service: cmd.service, config: cmd.config }, context: cmd.kind };
    case 'delete-service':
      return { change: { op: cmd.kind, service: cmd.service, template: cmd.template }, context: cmd.kind };
    case 'flush':
      return { change: { op: 'flush' }, context: null };
    case 'add-server':
    case 'edit-server':
    case 'delete-server': {
      const op = cmd.kind === 'add-server' ? 'add-dest' : cmd.kind === 'edit-server' ? 'edit-dest' : 'delete-dest';
      return { change: { op, service: cmd.service, dest: cmd.dest, config: cmd.config, template: cmd.template }, context: op };
    }
    case 'zero':
      return { change: { op: 'zero', service: cmd.service, template: cmd.template }, context: 'zero' };
    case 'set':
      return { change: { op: 'set-timeouts', timeouts: cmd.timeouts }, context: 'set-timeout' };
    case 'start-daemon':
      return { change: { op: 'start-daemon', daemon: cmd.daemon }, context: 'start-daemon' };
    case 'stop-daemon':
      return { change: { op: 'stop-daemon', state: cmd.state, syncId: cmd.syncId }, context: 'stop-daemon' };
    default:
      return undefined;
  }
}
