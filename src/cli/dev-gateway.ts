// The gateway in front of the demo shop (`coord dev --demo`): every annotated method of
// examples/shop/proto/shop.proto over HTTP/JSON; reads are public, creating orders and paying or
// refunding them need a JWT with the `orders:write` scope, signed with the dev secret.
import type { Coord } from '../coord.ts';
import { startGateway } from '../gateway/index.ts';
import { SHOP_PROTO } from '../../examples/shop/lib/proto.ts';

export interface ShopGatewayOptions {
  coord: Coord;
  listen: string;
  /** HS256 secret: POST /v1/orders needs a JWT signed with it. */
  jwtSecret: string;
  log: (line: string) => void;
}

export async function startShopGateway(o: ShopGatewayOptions): Promise<{ url: string; close(): Promise<void> }> {
  return startGateway({
    coord: o.coord,
    protoFiles: [SHOP_PROTO],
    services: {
      'shop.v1.UserService': 'user-service',
      'shop.v1.InventoryService': 'inventory-service',
      'shop.v1.OrderService': 'order-service',
      'shop.v1.PaymentService': 'payment-service',
      'shop.v1.NotificationService': 'notification-service',
    },
    listen: o.listen,
    auth: {
      keys: [{ alg: 'HS256', secret: o.jwtSecret }],
      issuer: 'coord-dev',
      policy: 'public',
      methods: {
        'shop.v1.OrderService/CreateOrder': { scopes: ['orders:write'] },
        'shop.v1.PaymentService/Pay': { scopes: ['orders:write'] },
        'shop.v1.PaymentService/Refund': { scopes: ['orders:write'] },
      },
    },
    openapi: { title: 'coord demo shop', version: '1.0.0' },
    log: o.log,
  });
}
