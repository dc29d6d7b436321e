// user-service: GetUser. The smallest possible coord service — serve() registers it in the
// registry, so the gateway and order-service reach it as etcd:///user-service.
import * as grpc from '@grpc/grpc-js';
import type { GetUserRequest__Output } from './generated/shop/v1/GetUserRequest.js';
import { grpcError, shop, type User } from './lib/proto.ts';
import { runService, unary } from './lib/service.ts';

const USERS: Record<string, Omit<User, 'served_by'>> = {
  u1: { id: 'u1', name: 'Ada Lovelace', email: 'ada@example.com' },
  u2: { id: 'u2', name: 'Alan Turing', email: 'alan@example.com' },
  u3: { id: 'u3', name: 'Grace Hopper', email: 'grace@example.com' },
};

await runService({
  name: 'user-service',
  services: ({ id }) => [
    [
      shop().UserService,
      {
        GetUser: unary(async ({ id: userId }: GetUserRequest__Output) => {
          const user = USERS[userId];
          if (!user) throw grpcError(grpc.status.NOT_FOUND, `no user ${JSON.stringify(userId)} (try u1, u2 or u3)`);
          return { ...user, served_by: id };
        }),
      },
    ],
  ],
});
