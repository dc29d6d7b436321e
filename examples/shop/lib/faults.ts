// Fault injection for the demo, one config key every shop instance follows (lib/service.ts):
// `coord demo slow` adds latency per instance id; `payment` makes payment-service decline or delay
// charges, e.g. `coord config publish shop faults '{"payment":{"decline":true,"delayMs":3000}}'`.
import { z } from 'zod';

export const FAULTS = { namespace: 'shop', key: 'faults' } as const;

export const FaultsSchema = z.object({
  /** Extra latency per instance id, ms. */
  slowMs: z.record(z.string(), z.number().int().min(0).max(60_000)).default({}),
  payment: z
    .object({
      /** Decline every new charge. */
      decline: z.boolean().default(false),
      /** Wait this long before answering a charge (the charge still happens unless the order was refunded meanwhile). */
      delayMs: z.number().int().min(0).max(600_000).default(0),
    })
    .optional(),
});
export type Faults = z.infer<typeof FaultsSchema>;
