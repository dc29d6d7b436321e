import type { TopologyView } from '../../../src/admin/api-types.ts';
import { get } from '../api.ts';
import { Card, usePolling, useResource } from '../components.tsx';

const BOX_W = 170;
const BOX_H = 34;
const COL_GAP = 110;
const ROW_GAP = 26;

/**
 * Which services call which, from the callers' own client metrics: services in columns by call
 * depth (callers left of callees), one arrow per caller → callee with its calls per second.
 */
export function Topology(props: { services: string[] }) {
  const r = useResource((signal) => get<TopologyView>('/api/topology', signal), []);
  // Once the server said it has no topology source, there is nothing to refresh.
  usePolling(r.reload, 3000, r.data?.available !== false);
  if (!r.data?.available) return null;
  const edges = r.data.edges.filter((e) => e.from !== e.to);
  const names = [...new Set([...props.services, ...edges.flatMap((e) => [e.from, e.to])])].sort();
  // Depth = longest chain of callers above a service (cycles are cut at the first revisit).
  const depth = new Map<string, number>();
  const depthOf = (n: string, seen: Set<string>): number => {
    if (depth.has(n)) return depth.get(n)!;
    if (seen.has(n)) return 0;
    seen.add(n);
    const callers = edges.filter((e) => e.to === n).map((e) => depthOf(e.from, seen) + 1);
    const d = Math.max(0, ...callers);
    depth.set(n, d);
    return d;
  };
  for (const n of names) depthOf(n, new Set());
  const columns: string[][] = [];
  for (const n of names) (columns[depth.get(n)!] ??= []).push(n);
  const pos = new Map<string, { x: number; y: number }>();
  columns.forEach((col, c) => col.forEach((n, i) => pos.set(n, { x: 10 + c * (BOX_W + COL_GAP), y: 10 + i * (BOX_H + ROW_GAP) })));
  const width = 20 + columns.length * BOX_W + (columns.length - 1) * COL_GAP;
  const height = 20 + Math.max(...columns.map((c) => c.length)) * (BOX_H + ROW_GAP) - ROW_GAP;
  return (
    <Card title="Topology" testid="topology">
      {edges.length === 0 && <p class="muted">No calls between services reported in the last scrape (instances report them through etcd-coord/observability's client metrics).</p>}
      <svg width={width} height={height} class="topology" role="img" aria-label="service call graph">
        <defs>
          <marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
            <path d="M 0 0 L 10 5 L 0 10 z" fill="currentColor" />
          </marker>
        </defs>
        {edges.map((e) => {
          const a = pos.get(e.from)!;
          const b = pos.get(e.to)!;
          const [x1, y1, x2, y2] = [a.x + BOX_W, a.y + BOX_H / 2, b.x, b.y + BOX_H / 2];
          const back = x2 <= x1;
          const d = back ? `M ${a.x + BOX_W / 2} ${a.y + BOX_H} C ${a.x + BOX_W / 2} ${a.y + BOX_H + 40}, ${b.x + BOX_W / 2} ${b.y + BOX_H + 40}, ${b.x + BOX_W / 2} ${b.y + BOX_H}` : `M ${x1} ${y1} C ${x1 + 50} ${y1}, ${x2 - 50} ${y2}, ${x2} ${y2}`;
          return (
            <g key={`${e.from}->${e.to}`} data-testid={`edge-${e.from}-${e.to}`} class={e.errorRate > 0.01 ? 'edge bad' : 'edge'}>
              <path d={d} fill="none" stroke="currentColor" marker-end="url(#arrow)" />
              <text x={(x1 + x2) / 2} y={(y1 + y2) / 2 - 6} text-anchor="middle">
                {e.requestsPerSecond.toFixed(1)}/s{e.errorRate > 0 ? ` · ${(e.errorRate * 100).toFixed(1)}% err` : ''}
              </text>
            </g>
          );
        })}
        {names.map((n) => {
          const p = pos.get(n)!;
          return (
            <g key={n} data-testid={`node-${n}`}>
              <rect x={p.x} y={p.y} width={BOX_W} height={BOX_H} rx={6} class="node" />
              <text x={p.x + BOX_W / 2} y={p.y + BOX_H / 2 + 4} text-anchor="middle">
                {n}
              </text>
            </g>
          );
        })}
      </svg>
    </Card>
  );
}
