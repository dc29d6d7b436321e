// etcd-coord/app: a service's whole life in one object — start the client, servers and background
// jobs; on SIGTERM drain, resign, release, deregister, close — in that order, bounded.
export { App, createApp, type AppOptions, type Hook, type Job } from './app.ts';
export { LeaderTask, type LeaderTaskOptions, type LeaderWork } from '../election/leader-task.ts';
export type { WithLockOptions } from '../lock/with-lock.ts';
