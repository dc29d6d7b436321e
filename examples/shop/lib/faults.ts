// Fault injection for the demo: `coord demo slow` publishes this config key and every shop
// instance follows it (lib/service.ts), adding the latency listed under its own id.
import { z } from 'zod';

export const FAULTS = { namespace: 'shop', key: 'faults' } as const;

/** Extra latency per instance id, ms. */
export const FaultsSchema = z.object({ slowMs: z.record(z.string(), z.number().int().min(0).max(60_000)) });
export type Faults = z.infer<typeof FaultsSchema>;
