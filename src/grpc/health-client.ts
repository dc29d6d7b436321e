// Client-side health checking (gRPC A17): one grpc.health.v1 Watch stream per connected
// subchannel; an endpoint that does not report SERVING is not picked. grpc-js 1.14 has the plumbing
// (subchannel wrappers with setHealthy, and leaf pick-first balancers that report an unhealthy pick
// as TRANSIENT_FAILURE) but no health-check client, so this wrapper supplies the signal.
import { createRequire } from 'node:module';
import * as grpc from '@grpc/grpc-js';
import { Backoff } from '../core/backoff.ts';

type SubchannelInterface = grpc.experimental.SubchannelInterface;

/** Where a subchannel's health stands. `pending`: connected, first answer not in yet. */
export type HealthState = 'idle' | 'pending' | 'serving' | 'not-serving' | 'unimplemented';

export interface HealthCheckOptions {
  /** Service name sent in HealthCheckRequest; '' asks about the server as a whole. */
  serviceName: string;
  /** Called after every health state change (the balancer recomputes its picker). */
  onChange: () => void;
  log: (line: string) => void;
}

interface HealthReply {
  status: string;
}

/** A grpc.health.v1 client (the class from {@link healthClientClass}). */
export type HealthClient = grpc.Client & {
  Watch(request: { service: string }): grpc.ClientReadableStream<HealthReply>;
  Check(request: { service: string }, options: grpc.CallOptions, cb: (err: grpc.ServiceError | null, reply?: HealthReply) => void): grpc.ClientUnaryCall;
};

/** Addresses already reported as lacking the health service (one line each, not one per connection). */
const reportedUnimplemented = new Set<string>();

let healthClientCtor: (new (address: string, creds: grpc.ChannelCredentials, options?: grpc.ClientOptions) => HealthClient) | undefined;

/** The health client class, loaded on first use so plain imports do not parse the health proto. */
export function healthClientClass(): NonNullable<typeof healthClientCtor> {
  if (!healthClientCtor) {
    const require = createRequire(import.meta.url);
    const { service } = require('grpc-health-check') as { service: grpc.ServiceDefinition };
    healthClientCtor = grpc.makeGenericClientConstructor(service, 'grpc.health.v1.Health') as unknown as NonNullable<typeof healthClientCtor>;
  }
  return healthClientCtor;
}

/**
 * A subchannel that watches its backend's grpc.health.v1 status while connected. It reports
 * unhealthy from the moment the connection is READY until the first SERVING answer, so a backend
 * is never picked before it has said it serves; `pending` tells the balancer that this is a
 * start-up wait (count it as connecting, queue calls) rather than a failure (fail fast).
 *
 * A server without the health service (UNIMPLEMENTED) is treated as healthy. With the default
 * service name '' a SERVICE_UNKNOWN answer is healthy too: the server speaks the protocol but does
 * not track overall health, so it has said nothing against itself. Any other answer but SERVING,
 * or a failed stream, is unhealthy until the stream (retried with backoff) says SERVING.
 */
export class HealthCheckedSubchannel extends grpc.experimental.BaseSubchannelWrapper {
  private stateValue: HealthState = 'idle';
  private active = false;
  private client: HealthClient | undefined;
  private call: grpc.ClientReadableStream<HealthReply> | undefined;
  private retry: NodeJS.Timeout | undefined;
  private readonly backoff = new Backoff({ initialMs: 200, maxMs: 5000 });
  private readonly onConnectivity = (_s: SubchannelInterface, _prev: grpc.connectivityState, next: grpc.connectivityState) => {
    if (next === grpc.connectivityState.READY) this.startWatch();
    else this.stopWatch('idle');
  };

  constructor(
    child: SubchannelInterface,
    private readonly options: HealthCheckOptions,
  ) {
    super(child);
  }

  get healthState(): HealthState {
    return this.stateValue;
  }

  /** The wrapped subchannel: pickers hand this to grpc-js, which only knows its own wrappers. */
  unwrap(): SubchannelInterface {
    return this.child;
  }

  // Watching starts with the first ref: pick-first creates wrappers it may never use, and only
  // refs the ones it keeps, so an unreffed wrapper must own no stream or listener.
  override ref(): void {
    super.ref();
    if (this.active) return;
    this.active = true;
    this.child.addConnectivityStateListener(this.onConnectivity);
    if (this.child.getConnectivityState() === grpc.connectivityState.READY) this.startWatch();
  }

  protected override destroy(): void {
    super.destroy();
    this.active = false;
    this.child.removeConnectivityStateListener(this.onConnectivity);
    this.stopWatch('idle');
    // Not client.close(): the channel is the subchannel's own, shared with every other user.
    this.client = undefined;
  }

  private startWatch(): void {
    this.stopWatch('pending');
    this.setHealthy(false);
    this.client ??= new (healthClientClass())('coord-health', grpc.credentials.createInsecure(), {
      channelOverride: this.getChannel(),
    });
    const call = this.client.Watch({ service: this.options.serviceName });
    this.call = call;
    call.on('data', (reply: HealthReply) => {
      if (this.call === call) this.onStatus(reply.status);
    });
    call.on('error', () => {});
    call.on('status', (s: grpc.StatusObject) => {
      if (this.call === call) this.onStreamEnd(s);
    });
    this.options.onChange();
  }

  private onStatus(status: string): void {
    this.backoff.reset();
    const healthy = status === 'SERVING' || (status === 'SERVICE_UNKNOWN' && this.options.serviceName === '');
    this.set(healthy ? 'serving' : 'not-serving');
  }

  private onStreamEnd(s: grpc.StatusObject): void {
    this.call = undefined;
    if (s.code === grpc.status.UNIMPLEMENTED) {
      if (!reportedUnimplemented.has(this.getAddress())) {
        reportedUnimplemented.add(this.getAddress());
        this.options.log(`health: ${this.getAddress()} does not implement grpc.health.v1; treating it as healthy`);
      }
      this.set('unimplemented');
      return;
    }
    // The stream ended while the connection is up (a server restart closes the connection and
    // is handled by the connectivity listener instead): unhealthy until a new stream says so.
    this.set('not-serving');
    if (this.child.getConnectivityState() !== grpc.connectivityState.READY || !this.active) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      if (this.active && this.child.getConnectivityState() === grpc.connectivityState.READY) this.startWatch();
    }, this.backoff.next());
    this.retry.unref();
  }

  private set(state: HealthState): void {
    if (state === this.stateValue) return;
    this.stateValue = state;
    this.setHealthy(state === 'serving' || state === 'unimplemented');
    this.options.onChange();
  }

  private stopWatch(next: HealthState): void {
    if (this.retry) clearTimeout(this.retry);
    this.retry = undefined;
    const call = this.call;
    this.call = undefined;
    call?.cancel();
    if (next !== this.stateValue) {
      this.stateValue = next;
      if (next === 'idle') this.options.onChange();
    }
  }
}
