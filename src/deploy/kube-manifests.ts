// Kubernetes manifests for a gRPC service built on coord (`coord kube service`) and for coord's own
// parts (`coord kube coord`: a 3-member etcd StatefulSet as the production store, and the
// dashboard). Plain objects: the CLI prints them as YAML; test/integration/kube-manifests.test.ts
// checks them against the Kubernetes schemas (kubernetes-models, a devDependency).
// Types only (erased from the JS, absent from the .d.ts): a misspelt field is a compile error here.
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { CoordError } from '../core/errors.ts';

type Manifest = Record<string, unknown> & { apiVersion: string; kind: string; metadata: { name: string } };

/** Options for {@link serviceManifests}; defaults in each field's doc. */
export interface ServiceManifestOptions {
  /** Service name: the Deployment, the registry name (`etcd:///<name>`) and the labels. Required (DNS-1123 label). */
  name: string;
  /** Container image. Required. */
  image: string;
  /** Kubernetes namespace written into metadata. Default none (kubectl's current namespace). */
  namespace?: string;
  /** The container's command arguments. Default none (the image's CMD). */
  args?: string[];
  /** gRPC port the service listens on; probes use grpc.health.v1 on it. Default 50051. */
  port?: number;
  /** Prometheus metrics port (etcd-coord/observability `serveMetrics`). Default 9464. */
  metricsPort?: number;
  /** etcd client endpoints, passed as COORD_ENDPOINTS. Default the `coord kube coord` etcd: `etcd-0.etcd:2379,etcd-1.etcd:2379,etcd-2.etcd:2379`. */
  etcdEndpoints?: string;
  /** Replicas before the HPA takes over, and its minimum. Default 2. */
  replicas?: number;
  /** HPA maximum. Default 10. */
  maxReplicas?: number;
  /** HPA target: average CPU utilisation of the requests, percent. Default 70. */
  targetCpuPercent?: number;
  /** HPA target: gRPC requests per second per pod (a Pods metric from a Prometheus adapter, see docs/deploy.md). Default 100. */
  targetRequestsPerSecond?: number;
  /** CPU request. Default `100m`. */
  cpu?: string;
  /** Memory request and limit. Default `256Mi`. */
  memory?: string;
  /** serve()'s `drainDelayMs` the service runs with. Default 1000 (serve()'s default). */
  drainDelayMs?: number;
  /** serve()'s `graceMs` the service runs with. Default 10000 (serve()'s default). */
  graceMs?: number;
  /** Seconds the preStop hook waits before SIGTERM, so kube-proxy and meshes stop routing first. Default 5. */
  preStopSeconds?: number;
}

/** Time after the drain that deregistering, releasing and closing the client may take (Coord.close() bounds each step at 2 s). */
export const CLOSE_BUDGET_SECONDS = 5;

/** `options` over `defaults`; a field given as undefined keeps its default. */
function withDefaults<D extends object, O extends object>(defaults: D, options: O): D & O {
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  return { ...defaults, ...given } as D & O;
}

const dns1123 = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function check(name: string, what: string): void {
  if (!dns1123.test(name)) throw new CoordError('invalid-argument', `${what} ${JSON.stringify(name)} is not a DNS-1123 label (lower-case letters, digits and '-', at most 63)`);
}

const meta = (name: string, namespace: string | undefined, labels: Record<string, string>) => ({ name, ...(namespace ? { namespace } : {}), labels });

const securityContext = {
  runAsNonRoot: true,
  runAsUser: 1000,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
};

/**
 * Seconds Kubernetes must wait between starting the preStop hook and SIGKILL for coord's shutdown
 * to finish: the preStop wait, serve()'s drain delay and grace period, then the client's close.
 */
export function terminationGraceSeconds(o: Pick<ServiceManifestOptions, 'drainDelayMs' | 'graceMs' | 'preStopSeconds'>): number {
  return (o.preStopSeconds ?? 5) + Math.ceil(((o.drainDelayMs ?? 1000) + (o.graceMs ?? 10_000)) / 1000) + CLOSE_BUDGET_SECONDS;
}

/** Deployment, Service, PodDisruptionBudget and HorizontalPodAutoscaler for one coord service. */
export function serviceManifests(options: ServiceManifestOptions): Manifest[] {
  const o = withDefaults({
    port: 50051,
    metricsPort: 9464,
    etcdEndpoints: etcdClientEndpoints(),
    replicas: 2,
    maxReplicas: 10,
    targetCpuPercent: 70,
    targetRequestsPerSecond: 100,
    cpu: '100m',
    memory: '256Mi',
    drainDelayMs: 1000,
    graceMs: 10_000,
    preStopSeconds: 5,
  }, options);
  check(o.name, 'service name');
  if (!o.image) throw new CoordError('invalid-argument', 'image is required');
  if (o.maxReplicas < o.replicas) throw new CoordError('invalid-argument', `maxReplicas (${o.maxReplicas}) is below replicas (${o.replicas})`);
  const labels = { 'app.kubernetes.io/name': o.name, 'app.kubernetes.io/part-of': 'coord' };
  const grpcProbe = (periodSeconds: number, failureThreshold: number) => ({ grpc: { port: o.port, service: '' }, periodSeconds, failureThreshold, timeoutSeconds: 2 });
  const deployment = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(o.name, o.namespace, labels),
    spec: {
      replicas: o.replicas,
      selector: { matchLabels: { 'app.kubernetes.io/name': o.name } },
      // A rolling update never lowers capacity: the new pod registers before an old one drains.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: {
          labels,
          annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(o.metricsPort), 'prometheus.io/path': '/metrics' },
        },
        spec: {
          terminationGracePeriodSeconds: terminationGraceSeconds(o),
          securityContext: { runAsNonRoot: true, runAsUser: 1000, fsGroup: 1000 },
          containers: [
            {
              name: o.name,
              image: o.image,
              ...(o.args ? { args: o.args } : {}),
              ports: [
                { name: 'grpc', containerPort: o.port, protocol: 'TCP' },
                { name: 'metrics', containerPort: o.metricsPort, protocol: 'TCP' },
              ],
              env: [
                { name: 'COORD_ENDPOINTS', value: o.etcdEndpoints },
                { name: 'PORT', value: String(o.port) },
                { name: 'METRICS_PORT', value: String(o.metricsPort) },
                // The registry must list the pod's own address, not 0.0.0.0.
                { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
                { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
              ],
              resources: { requests: { cpu: o.cpu, memory: o.memory }, limits: { memory: o.memory } },
              // serve() answers grpc.health.v1 '' SERVING while up and NOT_SERVING from the first moment of a drain.
              startupProbe: grpcProbe(2, 30),
              readinessProbe: grpcProbe(5, 1),
              livenessProbe: grpcProbe(10, 3),
              lifecycle: { preStop: { exec: { command: ['sleep', String(o.preStopSeconds)] } } },
              securityContext,
            },
          ],
        },
      },
    },
  } satisfies IDeployment;
  const service = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(o.name, o.namespace, labels),
    spec: {
      selector: { 'app.kubernetes.io/name': o.name },
      ports: [
        { name: 'grpc', port: o.port, targetPort: 'grpc', protocol: 'TCP', appProtocol: 'grpc' },
        { name: 'metrics', port: o.metricsPort, targetPort: 'metrics', protocol: 'TCP' },
      ],
    },
  } satisfies IService;
  const pdb = {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: meta(o.name, o.namespace, labels),
    spec: { maxUnavailable: 1, selector: { matchLabels: { 'app.kubernetes.io/name': o.name } } },
  } satisfies IPodDisruptionBudget;
  const hpa = {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: meta(o.name, o.namespace, labels),
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: o.name },
      minReplicas: o.replicas,
      maxReplicas: o.maxReplicas,
      metrics: [
        { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: o.targetCpuPercent } } },
        // rate(grpc_server_handled_total[1m]) per pod, exposed by a Prometheus adapter rule (docs/deploy.md).
        { type: 'Pods', pods: { metric: { name: 'grpc_server_requests_per_second' }, target: { type: 'AverageValue', averageValue: String(o.targetRequestsPerSecond) } } },
      ],
      behavior: { scaleDown: { stabilizationWindowSeconds: 300, policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }] } },
    },
  } satisfies IHorizontalPodAutoscaler;
  return [deployment, service, pdb, hpa];
}

/** Options for {@link coordManifests}; defaults in each field's doc. */
export interface CoordManifestOptions {
  /** Image with the coord CLI (deploy/Dockerfile), for the dashboard. Required. */
  image: string;
  /** Kubernetes namespace written into metadata. Default none. */
  namespace?: string;
  /** etcd image. Default `quay.io/coreos/etcd:v3.5.17`. */
  etcdImage?: string;
  /** etcd members. Default 3 (tolerates one member down). */
  etcdReplicas?: number;
  /** Volume size per etcd member. Default `2Gi`. */
  etcdStorage?: string;
  /** Port of the dashboard. Default 8080. */
  dashboardPort?: number;
}

/** The client endpoints of the etcd StatefulSet that {@link coordManifests} writes. */
export function etcdClientEndpoints(replicas = 3): string {
  return Array.from({ length: replicas }, (_, i) => `etcd-${i}.etcd:2379`).join(',');
}

/** A 3-member etcd StatefulSet (the production store) with its Services and budget, and coord's dashboard. */
export function coordManifests(options: CoordManifestOptions): Manifest[] {
  const o = withDefaults({ etcdImage: 'quay.io/coreos/etcd:v3.5.17', etcdReplicas: 3, etcdStorage: '2Gi', dashboardPort: 8080 }, options);
  if (!o.image) throw new CoordError('invalid-argument', 'image is required');
  if (!Number.isInteger(o.etcdReplicas) || o.etcdReplicas < 1 || o.etcdReplicas % 2 === 0) {
    throw new CoordError('invalid-argument', `etcd members must be an odd number (1, 3, 5): got ${o.etcdReplicas}`);
  }
  const etcdLabels = { 'app.kubernetes.io/name': 'etcd', 'app.kubernetes.io/part-of': 'coord' };
  const selector = { 'app.kubernetes.io/name': 'etcd' };
  const peers = Array.from({ length: o.etcdReplicas }, (_, i) => `etcd-${i}=http://etcd-${i}.etcd:2380`).join(',');
  const headless = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta('etcd', o.namespace, etcdLabels),
    spec: {
      clusterIP: 'None',
      // Members must find each other by name before any of them is ready.
      publishNotReadyAddresses: true,
      selector,
      ports: [
        { name: 'client', port: 2379, targetPort: 2379 },
        { name: 'peer', port: 2380, targetPort: 2380 },
      ],
    },
  } satisfies IService;
  const statefulSet = {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: meta('etcd', o.namespace, etcdLabels),
    spec: {
      serviceName: 'etcd',
      replicas: o.etcdReplicas,
      podManagementPolicy: 'Parallel',
      selector: { matchLabels: selector },
      template: {
        metadata: { labels: etcdLabels },
        spec: {
          terminationGracePeriodSeconds: 30,
          affinity: {
            podAntiAffinity: {
              preferredDuringSchedulingIgnoredDuringExecution: [
                { weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: selector } } },
              ],
            },
          },
          containers: [
            {
              name: 'etcd',
              image: o.etcdImage,
              command: ['etcd'],
              args: [
                '--name=$(POD_NAME)',
                '--data-dir=/var/lib/etcd',
                '--listen-client-urls=http://0.0.0.0:2379',
                '--advertise-client-urls=http://$(POD_NAME).etcd:2379',
                '--listen-peer-urls=http://0.0.0.0:2380',
                '--initial-advertise-peer-urls=http://$(POD_NAME).etcd:2380',
                `--initial-cluster=${peers}`,
                '--initial-cluster-state=new',
                '--initial-cluster-token=coord-etcd',
                '--auto-compaction-mode=periodic',
                '--auto-compaction-retention=1h',
                '--quota-backend-bytes=2147483648',
              ],
              env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }],
              ports: [
                { name: 'client', containerPort: 2379 },
                { name: 'peer', containerPort: 2380 },
              ],
              resources: { requests: { cpu: '200m', memory: '512Mi' }, limits: { memory: '1Gi' } },
              readinessProbe: { httpGet: { path: '/health', port: 2379 }, periodSeconds: 5, failureThreshold: 3 },
              livenessProbe: { httpGet: { path: '/health', port: 2379 }, initialDelaySeconds: 15, periodSeconds: 10, failureThreshold: 6 },
              volumeMounts: [{ name: 'data', mountPath: '/var/lib/etcd' }],
            },
          ],
        },
      },
      volumeClaimTemplates: [
        {
          metadata: { name: 'data' },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: o.etcdStorage } } },
        },
      ],
    },
  } satisfies IStatefulSet;
  const etcdPdb = {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: meta('etcd', o.namespace, etcdLabels),
    // Never evict below quorum.
    spec: { minAvailable: Math.floor(o.etcdReplicas / 2) + 1, selector: { matchLabels: selector } },
  } satisfies IPodDisruptionBudget;
  const dashLabels = { 'app.kubernetes.io/name': 'coord-dashboard', 'app.kubernetes.io/part-of': 'coord' };
  const dashboard = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta('coord-dashboard', o.namespace, dashLabels),
    spec: {
      replicas: 1,
      selector: { matchLabels: { 'app.kubernetes.io/name': 'coord-dashboard' } },
      template: {
        metadata: { labels: dashLabels },
        spec: {
          securityContext: { runAsNonRoot: true, runAsUser: 1000 },
          containers: [
            {
              name: 'dashboard',
              image: o.image,
              args: ['dashboard', '--endpoints', etcdClientEndpoints(o.etcdReplicas), '--listen', `0.0.0.0:${o.dashboardPort}`],
              // Off loopback the dashboard needs a token: `kubectl create secret generic coord-dashboard --from-literal=token=…`.
              env: [{ name: 'COORD_ADMIN_TOKEN', valueFrom: { secretKeyRef: { name: 'coord-dashboard', key: 'token' } } }],
              ports: [{ name: 'http', containerPort: o.dashboardPort }],
              resources: { requests: { cpu: '50m', memory: '128Mi' }, limits: { memory: '256Mi' } },
              // TCP probes: every API path needs the token, which an httpGet probe cannot take from a Secret.
              readinessProbe: { tcpSocket: { port: 'http' }, periodSeconds: 10 },
              livenessProbe: { tcpSocket: { port: 'http' }, periodSeconds: 20, failureThreshold: 3 },
              securityContext,
            },
          ],
        },
      },
    },
  } satisfies IDeployment;
  const dashboardService = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta('coord-dashboard', o.namespace, dashLabels),
    spec: { selector: { 'app.kubernetes.io/name': 'coord-dashboard' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
  } satisfies IService;
  return [headless, statefulSet, etcdPdb, dashboard, dashboardService];
}
