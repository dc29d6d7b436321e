// The error details (`grpc-status-details-bin`, a google.rpc.Status) an HTTP client may read.
// Public by the google.rpc convention: BadRequest, PreconditionFailure, ErrorInfo and
// LocalizedMessage, which a service writes for its callers. Everything else stays behind:
// DebugInfo (stack entries) and RequestInfo (serving data) by design, and any other type because
// the gateway cannot know what it holds. An allowed detail is decoded into its type and rendered
// again, so only that type's fields, under the canonical type URL, reach the client; the withheld
// ones are described for the log.
import type * as grpc from '@grpc/grpc-js';
import type protobuf from 'protobufjs';
import type { JsonCodec } from './json-codec.ts';

/** google.rpc detail types a public answer may carry. */
export const PUBLIC_DETAIL_TYPES: ReadonlySet<string> = new Set(['google.rpc.BadRequest', 'google.rpc.PreconditionFailure', 'google.rpc.ErrorInfo', 'google.rpc.LocalizedMessage']);

const TYPE_URL_PREFIX = 'type.googleapis.com/';

export interface SortedDetails {
  /** The allowed details as proto3 JSON `Any` (`{"@type": …, …fields}`). */
  public: unknown[];
  /** One line per detail left out (type and content, or why it could not be read), for the log. */
  withheld: string[];
}

interface RawAny {
  type_url?: string;
  value?: Uint8Array;
}

/** Sorts the call's `grpc-status-details-bin` details into public and withheld ones. */
export function sortDetails(codec: JsonCodec, metadata: grpc.Metadata | undefined): SortedDetails {
  const out: SortedDetails = { public: [], withheld: [] };
  const raw = metadata?.get('grpc-status-details-bin')[0];
  if (raw === undefined) return out;
  if (!(raw instanceof Buffer)) {
    out.withheld.push(`grpc-status-details-bin is not binary: ${String(raw).slice(0, 200)}`);
    return out;
  }
  let details: RawAny[];
  try {
    details = (codec.root.lookupType('google.rpc.Status').decode(raw) as unknown as { details?: RawAny[] }).details ?? [];
  } catch (e) {
    out.withheld.push(`grpc-status-details-bin is not a google.rpc.Status (${raw.length} bytes): ${(e as Error).message}`);
    return out;
  }
  for (const d of details) {
    const url = d.type_url ?? '';
    const name = url.slice(url.lastIndexOf('/') + 1);
    const value = d.value ?? new Uint8Array();
    const type = lookup(codec.root, name);
    let json: Record<string, unknown> | undefined;
    let failure = '';
    if (type) {
      try {
        json = codec.toJson(type, type.decode(value) as unknown as Record<string, unknown>) as Record<string, unknown>;
      } catch (e) {
        failure = `: undecodable (${(e as Error).message})`;
      }
    }
    if (json && PUBLIC_DETAIL_TYPES.has(name)) out.public.push({ '@type': TYPE_URL_PREFIX + name, ...json });
    else out.withheld.push(json ? `${url} ${JSON.stringify(json)}` : `${url || '(no type)'} (${value.length} bytes${type ? failure : ', type not in the loaded protos'})`);
  }
  return out;
}

function lookup(root: protobuf.Root, name: string): protobuf.Type | undefined {
  if (!name) return undefined;
  try {
    return root.lookupType(name);
  } catch {
    return undefined;
  }
}
