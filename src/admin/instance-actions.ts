import { CoordError, isCoordError } from '../core/errors.ts';
import { compare, op, type EtcdClient } from '../client/etcd-client.ts';
import { decodeInstance, encodeInstance, serviceKey, type ServiceInstance } from '../registry/instance.ts';

export interface InstancePatch {
  status?: 'serving' | 'draining';
  /** New `metadata.weight`; null removes it. */
  weight?: number | null;
  /** Apply only if the record is still at this mod revision (what the caller last saw). */
  expectedModRevision?: number;
}

const ATTEMPTS = 5;

/**
 * Changes an instance's status or weight from outside the instance: the record is rewritten under
 * its existing lease by a txn guarded by the mod revision it was read at, so a concurrent write by
 * the instance itself is never overwritten with stale fields (without `expectedModRevision` the
 * change is re-applied to the newer record). A coord Registration watches its own record and adopts
 * the change, so it survives the owner's later updates and re-registrations.
 */
export async function patchInstance(client: EtcdClient, ns: string, name: string, id: string, patch: InstancePatch): Promise<{ instance: ServiceInstance; modRevision: number }> {
  if (!name || !id || name.includes('/') || id.includes('/')) throw new CoordError('invalid-argument', 'service name and instance id must be non-empty and contain no /');
  const key = serviceKey(ns, name, id);
  for (let attempt = 1; ; attempt++) {
    const kv = await client.get(key);
    if (!kv) throw new CoordError('not-found', `instance ${name}/${id} is not registered`);
    if (patch.expectedModRevision !== undefined && kv.modRevision !== patch.expectedModRevision) {
      throw new CoordError('conflict', `instance ${name}/${id} changed since mod revision ${patch.expectedModRevision} (now ${kv.modRevision}); reload and retry`);
    }
    const current = decodeInstance(kv.value);
    if (typeof current === 'string') throw new CoordError('conflict', `instance ${name}/${id} has a malformed record (${current}); only its owner can fix it`);
    const next: ServiceInstance = { ...current, metadata: { ...current.metadata } };
    if (patch.status !== undefined) next.status = patch.status;
    if (patch.weight === null) delete next.metadata!.weight;
    else if (patch.weight !== undefined) next.metadata!.weight = patch.weight;
    if (Object.keys(next.metadata!).length === 0) delete next.metadata;
    try {
      const r = await client.txn({
        compare: [compare.modRevision(key, '=', kv.modRevision)],
        success: [op.put(key, encodeInstance(next), { lease: kv.lease })],
      });
      if (r.succeeded) return { instance: next, modRevision: r.revision };
    } catch (e) {
      // The lease ran out between the read and the write: the instance is gone.
      if (isCoordError(e, 'lease-not-found')) throw new CoordError('not-found', `instance ${name}/${id} is no longer registered (its lease expired)`);
      throw e;
    }
    if (patch.expectedModRevision !== undefined || attempt >= ATTEMPTS) {
      throw new CoordError('conflict', `instance ${name}/${id} kept changing while being updated; reload and retry`);
    }
  }
}
