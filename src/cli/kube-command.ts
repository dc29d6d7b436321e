import type { Command } from 'commander';
import { stringifyYaml } from '../config/config-yaml.ts';
import { coordManifests, serviceManifests } from '../deploy/kube-manifests.ts';
import { action, intArg, UsageError } from './common.ts';

interface ServiceFlags {
  image: string;
  namespace?: string;
  port: string;
  metricsPort: string;
  etcdEndpoints?: string;
  replicas: string;
  maxReplicas: string;
  cpuTarget: string;
  rpsTarget: string;
  cpu: string;
  memory: string;
  drainDelay: string;
  grace: string;
  preStop: string;
  arg: string[];
}

interface CoordFlags {
  image: string;
  namespace?: string;
  etcdImage?: string;
  etcdMembers: string;
  etcdStorage?: string;
}

const collect = (v: string, acc: string[]) => [...acc, v];

/** Manifests as one multi-document YAML stream, for `kubectl apply -f -`. */
function print(manifests: object[]): void {
  process.stdout.write(manifests.map((m) => stringifyYaml(m)).join('---\n'));
}

function required(n: number | undefined, name: string): number {
  if (n === undefined || n === 0) throw new UsageError(`${name} must be a positive integer`);
  return n;
}

/** `coord kube`: Kubernetes manifests for a service built on coord, and for coord's etcd and dashboard. */
export function registerKubeCommands(program: Command): void {
  const kube = program.command('kube').description('print Kubernetes manifests (YAML, for kubectl apply -f -); see docs/deploy.md');
  kube
    .command('service <name>')
    .description('Deployment (gRPC health probes, preStop, grace period matching serve()\'s drain), Service, PodDisruptionBudget and HPA (CPU and requests per second)')
    .requiredOption('--image <image>', 'container image of the service')
    .option('--namespace <ns>', 'Kubernetes namespace to write into the manifests')
    .option('--port <port>', 'gRPC port (health probes use it)', '50051')
    .option('--metrics-port <port>', 'Prometheus metrics port', '9464')
    .option('--etcd-endpoints <list>', 'COORD_ENDPOINTS for the service (default the `coord kube coord` etcd)')
    .option('--replicas <n>', 'replicas, and the HPA minimum', '2')
    .option('--max-replicas <n>', 'HPA maximum', '10')
    .option('--cpu-target <percent>', 'HPA target CPU utilisation', '70')
    .option('--rps-target <n>', 'HPA target gRPC requests per second per pod', '100')
    .option('--cpu <quantity>', 'CPU request', '100m')
    .option('--memory <quantity>', 'memory request and limit', '256Mi')
    .option('--drain-delay <ms>', "serve()'s drainDelayMs in the service", '1000')
    .option('--grace <ms>', "serve()'s graceMs in the service", '10000')
    .option('--pre-stop <seconds>', 'wait in preStop before SIGTERM', '5')
    .option('--arg <arg>', 'container argument (repeatable)', collect, [])
    .action(
      action(async (name: string, f: ServiceFlags) => {
        print(
          serviceManifests({
            name,
            image: f.image,
            namespace: f.namespace,
            port: required(intArg('--port', f.port), '--port'),
            metricsPort: required(intArg('--metrics-port', f.metricsPort), '--metrics-port'),
            etcdEndpoints: f.etcdEndpoints,
            replicas: required(intArg('--replicas', f.replicas), '--replicas'),
            maxReplicas: required(intArg('--max-replicas', f.maxReplicas), '--max-replicas'),
            targetCpuPercent: required(intArg('--cpu-target', f.cpuTarget), '--cpu-target'),
            targetRequestsPerSecond: required(intArg('--rps-target', f.rpsTarget), '--rps-target'),
            cpu: f.cpu,
            memory: f.memory,
            drainDelayMs: intArg('--drain-delay', f.drainDelay),
            graceMs: intArg('--grace', f.grace),
            preStopSeconds: intArg('--pre-stop', f.preStop),
            ...(f.arg.length > 0 ? { args: f.arg } : {}),
          }),
        );
      }),
    );
  kube
    .command('coord')
    .description("coord's own parts: a 3-member etcd StatefulSet (the production store) with its Services and budget, and the dashboard")
    .requiredOption('--image <image>', 'image with the coord CLI (deploy/Dockerfile), for the dashboard')
    .option('--namespace <ns>', 'Kubernetes namespace to write into the manifests')
    .option('--etcd-image <image>', 'etcd image (default quay.io/coreos/etcd:v3.5.17)')
    .option('--etcd-members <n>', 'etcd members (odd)', '3')
    .option('--etcd-storage <quantity>', 'volume per member (default 2Gi)')
    .action(
      action(async (f: CoordFlags) => {
        print(
          coordManifests({
            image: f.image,
            namespace: f.namespace,
            etcdImage: f.etcdImage,
            etcdReplicas: required(intArg('--etcd-members', f.etcdMembers), '--etcd-members'),
            etcdStorage: f.etcdStorage,
          }),
        );
      }),
    );
}
