import type { ServiceInstance } from './instance.ts';

/**
 * A foreign (Go framework) registry layout that coord can publish in besides its own and read
 * from. Each implementation follows the framework's own source, cited in its module comment and
 * its fixture (test/fixtures/registry-formats/).
 */
export interface RegistryFormat {
  readonly name: RegistryFormatName;
  /** Prefix under which all instances of `service` live (what a Go client watches). */
  prefix(service: string): string;
  /** Key of one instance; `leaseId` is the decimal lease id (go-zero puts it in the key). */
  key(instance: ServiceInstance, leaseId: string): string;
  /** Value exactly as the Go framework writes it. */
  value(instance: ServiceInstance): string;
  /** Parses a stored record back into an instance; a reason string when it is malformed. */
  decode(service: string, key: string, value: Buffer): ServiceInstance | string;
}

export type RegistryFormatName = 'grpc-go' | 'kratos' | 'go-zero';
