// The two servers etcdctl's output is compared on: a real etcd, and coord store run as its own
// process (as a user runs it), each skipped with one line when etcdctl (or etcd) is missing.
import { requireEtcd, startEtcd } from './etcd-process.ts';
import { requireEtcdctl } from './etcdctl.ts';
import { startStoreProcess } from './store-process.ts';

export interface EtcdctlServer {
  endpoint: string;
  stop(): Promise<void>;
}

export const etcdctlServers: { name: string; skip: string | undefined; start(): Promise<EtcdctlServer> }[] = [
  {
    name: 'etcd',
    skip: requireEtcdctl() ?? requireEtcd(),
    async start() {
      const etcd = await startEtcd();
      return { endpoint: etcd.endpoint, stop: () => etcd.stop() };
    },
  },
  {
    name: 'coord store',
    skip: requireEtcdctl(),
    async start() {
      const store = await startStoreProcess(['--memory', '--listen', '127.0.0.1:0']);
      return { endpoint: store.endpoint, stop: async () => void (await store.kill('SIGKILL')) };
    },
  },
];
