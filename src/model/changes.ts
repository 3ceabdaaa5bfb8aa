/**
 * One modification of the IPVS table as a value, so that many can be sent pipelined
 * (`Ipvs.apply`, the engine of `ipvsadm -R`) and a single one goes through the same path.
 */
import {
  fastNewDest,
  fastNewService,
  ipvsRequest,
  type DestinationConfig,
  type DestinationKey,
  type IpvsRequest,
  type ServiceConfig,
  type ServiceKey,
  type SyncDaemon,
  type Timeouts,
} from '../wire/index.js';

/**
 * A modifying ipvsadm command: `-A` add-service, `-E` edit-service, `-D` delete-service, `-C`
 * flush, `-Z` zero, `-a`/`-e`/`-d` add/edit/delete-dest, `--set`, `--start-daemon`,
 * `--stop-daemon`. `template` is the rest of the service nest ipvsadm sends beside a key.
 */
export type IpvsChange =
  | { op: 'add-service' | 'edit-service'; service: ServiceKey; config: ServiceConfig }
  | { op: 'delete-service'; service: ServiceKey; template?: ServiceConfig }
  | { op: 'flush' }
  | { op: 'zero'; service?: ServiceKey; template?: ServiceConfig }
  | {
      op: 'add-dest' | 'edit-dest';
      service: ServiceKey;
      dest: DestinationKey;
      config: DestinationConfig;
      template?: ServiceConfig;
    }
  | { op: 'delete-dest'; service: ServiceKey; dest: DestinationKey; config?: DestinationConfig; template?: ServiceConfig }
  | { op: 'set-timeouts'; timeouts: Timeouts }
  | { op: 'start-daemon'; daemon: SyncDaemon }
  | { op: 'stop-daemon'; state: number; syncId: number };

/** The request that carries a change, byte for byte what ipvsadm sends for the same command. */
export function changeRequest(c: IpvsChange): IpvsRequest {
  switch (c.op) {
    case 'add-service':
      return fastNewService(c.service, c.config) ?? ipvsRequest.newService(c.service, c.config);
    case 'edit-service':
      return ipvsRequest.setService(c.service, c.config);
    case 'delete-service':
      return ipvsRequest.delService(c.service, c.template);
    case 'flush':
      return ipvsRequest.flush();
    case 'zero':
      return ipvsRequest.zero(c.service, c.template);
    case 'add-dest':
      return fastNewDest(c.service, c.dest, c.config, c.template) ?? ipvsRequest.newDest(c.service, c.dest, c.config, c.template);
    case 'edit-dest':
      return ipvsRequest.setDest(c.service, c.dest, c.config, c.template);
    case 'delete-dest':
      return ipvsRequest.delDest(c.service, c.dest, c.config, c.template);
    case 'set-timeouts':
      return ipvsRequest.setConfig(c.timeouts);
    case 'start-daemon':
      return ipvsRequest.newDaemon(c.daemon);
    case 'stop-daemon':
      return ipvsRequest.delDaemon(c.state, c.syncId);
  }
}
