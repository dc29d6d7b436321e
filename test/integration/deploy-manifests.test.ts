// What CI checks of deploy/ (the container run itself is `npm run containers`): `coord kube`'s
// manifests validated offline against the Kubernetes 1.27 schemas (kubernetes-models), their
// timings tied to serve()'s drain, and the Dockerfiles linted by dockerfile-utils plus the rules
// docs/deploy.md promises (multi-stage, production dependencies only, non-root, SIGTERM).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { validate as lintDockerfile } from 'dockerfile-utils';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { Service } from 'kubernetes-models/v1';
import { parseYaml } from '../../src/config/config-yaml.ts';
import { CLOSE_BUDGET_SECONDS, etcdClientEndpoints } from '../../src/deploy/kube-manifests.ts';
import { resolveServeOptions } from '../../src/grpc/serve-options.ts';
import { SHOP_INSTANCES } from '../../examples/shop/launch.ts';
import { killAllCli, runCli } from '../helpers/cli-process.ts';

after(killAllCli);

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'v1/Service': Service,
};

type Doc = { apiVersion: string; kind: string; metadata: { name: string }; spec: any };

/** Parses a multi-document YAML stream and validates every document against its Kubernetes schema. */
function validated(yaml: string): Doc[] {
  const docs = yaml.split(/^---$/m).map((d) => parseYaml(d) as Doc);
  for (const d of docs) {
    const Model = MODELS[`${d.apiVersion}/${d.kind}`];
    assert.ok(Model, `a schema for ${d.apiVersion} ${d.kind}`);
    new Model(d as never).validate();
  }
  return docs;
}

const find = (docs: Doc[], kind: string, name?: string) => {
  const d = docs.find((x) => x.kind === kind && (name === undefined || x.metadata.name === name));
  assert.ok(d, `a ${kind}${name ? ` ${name}` : ''}`);
  return d;
};

describe('coord kube', () => {
  test('service: Deployment, Service, PDB and HPA valid against the Kubernetes schemas, probes on grpc.health.v1, grace covering the drain', async () => {
    const r = await runCli(['kube', 'service', 'orders', '--image', 'registry.example/orders:1.4.0', '--namespace', 'shop', '--grace', '20000']);
    assert.equal(r.code, 0, r.stderr);
    const docs = validated(r.stdout);
    assert.deepEqual(docs.map((d) => d.kind), ['Deployment', 'Service', 'PodDisruptionBudget', 'HorizontalPodAutoscaler']);
    for (const d of docs) assert.equal((d.metadata as { namespace?: string }).namespace, 'shop');

    const pod = find(docs, 'Deployment').spec.template.spec;
    const [c] = pod.containers;
    for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) assert.deepEqual(c[probe].grpc, { port: 50051, service: '' }, probe);
    assert.deepEqual(c.lifecycle.preStop.exec.command, ['sleep', '5']);
    // preStop, then serve()'s drain delay (1 s default) and the grace given (20 s), then closing the client.
    assert.equal(pod.terminationGracePeriodSeconds, 5 + 1 + 20 + CLOSE_BUDGET_SECONDS);
    assert.equal(c.securityContext.runAsNonRoot, true);
    assert.deepEqual(Object.fromEntries(c.env.map((e: { name: string; value?: string }) => [e.name, e.value ?? 'from the pod'])), {
      COORD_ENDPOINTS: etcdClientEndpoints(),
      PORT: '50051',
      METRICS_PORT: '9464',
      POD_IP: 'from the pod',
      POD_NAME: 'from the pod',
    });
    assert.deepEqual(find(docs, 'Deployment').spec.strategy.rollingUpdate, { maxUnavailable: 0, maxSurge: 1 });

    const hpa = find(docs, 'HorizontalPodAutoscaler').spec;
    assert.deepEqual(hpa.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: 'orders' });
    assert.deepEqual(
      hpa.metrics.map((m: { type: string; resource?: { name: string }; pods?: { metric: { name: string } } }) => m.resource?.name ?? m.pods?.metric.name),
      ['cpu', 'grpc_server_requests_per_second'],
    );
    assert.equal(find(docs, 'Service').spec.ports[0].appProtocol, 'grpc');
    assert.equal(find(docs, 'PodDisruptionBudget').spec.maxUnavailable, 1);
  });

  test("the default grace period matches serve()'s own defaults", async () => {
    const serve = resolveServeOptions({ name: 'x', services: [[{}, {}]] });
    const r = await runCli(['kube', 'service', 'orders', '--image', 'orders:1']);
    const pod = find(validated(r.stdout), 'Deployment').spec.template.spec;
    assert.equal(pod.terminationGracePeriodSeconds, 5 + Math.ceil((serve.drainDelayMs + serve.graceMs) / 1000) + CLOSE_BUDGET_SECONDS);
  });

  test("coord: a 3-member etcd StatefulSet whose peers name each other, a quorum-keeping PDB, and the dashboard", async () => {
    const r = await runCli(['kube', 'coord', '--image', 'registry.example/coord:0.1.0']);
    assert.equal(r.code, 0, r.stderr);
    const docs = validated(r.stdout);
    const sts = find(docs, 'StatefulSet', 'etcd').spec;
    assert.equal(sts.replicas, 3);
    assert.equal(sts.serviceName, 'etcd');
    assert.equal(find(docs, 'Service', 'etcd').spec.clusterIP, 'None');
    const args: string[] = sts.template.spec.containers[0].args;
    assert.ok(args.includes('--initial-cluster=etcd-0=http://etcd-0.etcd:2380,etcd-1=http://etcd-1.etcd:2380,etcd-2=http://etcd-2.etcd:2380'), args.join(' '));
    assert.equal(find(docs, 'PodDisruptionBudget', 'etcd').spec.minAvailable, 2);
    const dash = find(docs, 'Deployment', 'coord-dashboard').spec.template.spec.containers[0];
    assert.deepEqual(dash.args, ['dashboard', '--endpoints', 'etcd-0.etcd:2379,etcd-1.etcd:2379,etcd-2.etcd:2379', '--listen', '0.0.0.0:8080']);
    assert.equal(dash.env[0].valueFrom.secretKeyRef.name, 'coord-dashboard');
  });

  test('the schema check catches a wrong manifest (the validation is not a no-op)', async () => {
    const r = await runCli(['kube', 'service', 'orders', '--image', 'orders:1']);
    const [deployment] = r.stdout.split(/^---$/m).map((d) => parseYaml(d) as Doc);
    deployment.spec.template.spec.containers[0].readinessProbe.grpc.port = 'grpc';
    assert.throws(() => new Deployment(deployment as never).validate(), /readinessProbe\/grpc\/port must be integer/);
  });

  test('bad input: one line, exit 2, nothing printed on stdout', async () => {
    for (const [args, message] of [
      [['kube', 'service', 'Orders_1', '--image', 'x'], /^coord: service name "Orders_1" is not a DNS-1123 label/],
      [['kube', 'service', 'orders'], /required option '--image <image>' not specified/],
      [['kube', 'service', 'orders', '--image', 'x', '--replicas', 'two'], /^coord: --replicas must be a non-negative integer, got 'two'/],
      [['kube', 'service', 'orders', '--image', 'x', '--replicas', '5', '--max-replicas', '3'], /^coord: maxReplicas \(3\) is below replicas \(5\)/],
      [['kube', 'coord', '--image', 'x', '--etcd-members', '2'], /^coord: etcd members must be an odd number \(1, 3, 5\): got 2/],
    ] as const) {
      const r = await runCli([...args]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.equal(r.stdout, '');
    }
  });
});

describe('Dockerfiles', () => {
  for (const file of ['deploy/Dockerfile', 'deploy/service.Dockerfile']) {
    test(`${file}: no linter findings; multi-stage, production dependencies only, non-root, SIGTERM`, () => {
      const text = readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8');
      assert.deepEqual(lintDockerfile(text).map((d) => `${d.range.start.line + 1}: ${d.message}`), []);
      const stages = text.split(/^FROM /m).slice(1);
      assert.ok(stages.length >= 2, 'multi-stage');
      assert.match(text, /^ARG NODE_IMAGE=node:24-bookworm-slim$/m);
      assert.match(stages[0], /--omit=dev/);
      const final = stages[stages.length - 1];
      assert.match(final, /^USER node$/m);
      assert.match(final, /^STOPSIGNAL SIGTERM$/m);
      assert.doesNotMatch(final, /npm (ci|install)/, 'the final stage installs nothing');
    });
  }
});

describe('deploy/shop-main.mjs (the shop image entry point)', () => {
  test('refuses a SHOP_SERVICE that is not a shop service, naming every service the shop runs', () => {
    const services = [...new Set(SHOP_INSTANCES.map((s) => s.service))];
    for (const bad of ['', 'bogus-service', 'order-service/../x']) {
      const r = spawnSync(process.execPath, [new URL('../../deploy/shop-main.mjs', import.meta.url).pathname], { env: { ...process.env, SHOP_SERVICE: bad }, encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 2, `SHOP_SERVICE=${JSON.stringify(bad)}: ${r.stderr}`);
      assert.equal(r.stderr, `SHOP_SERVICE must name a shop service (${services.join(', ')}); got ${JSON.stringify(bad)}\n`);
    }
  });
});
