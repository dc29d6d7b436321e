import type { Coord } from '../coord.ts';
import type { AdminInfo } from './api-types.ts';
import type { ClusterInfo } from './cluster-info.ts';
import type { EventsSource } from './events-source.ts';
import type { ForeignServices } from './foreign-services.ts';
import type { InstanceMetricsSource } from './instance-metrics.ts';
import type { LiveView } from './live-view.ts';

/** What every route module gets: the client, the live views, cluster reads and server settings. */
export interface AdminContext {
  readonly coord: Coord;
  readonly live: LiveView;
  readonly cluster: ClusterInfo;
  /** Services in Go registry layouts, read at each /api/services request. */
  readonly foreign: ForeignServices;
  readonly metrics: InstanceMetricsSource | undefined;
  /** The events engine announced at `<ns>events/engine` (or the one given). */
  readonly events: EventsSource;
  readonly info: AdminInfo;
  /** Closers of the open SSE streams, so close() does not wait for browsers to hang up. */
  readonly streams: Set<() => void>;
  /** Who a change is attributed to when the request names no author. */
  readonly defaultAuthor: string;
  /** One line per notable event (AdminOptions.log). */
  readonly log: (line: string) => void;
}
