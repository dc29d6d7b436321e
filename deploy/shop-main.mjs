// Entry point of the demo shop's service image (deploy/service.Dockerfile): runs the service that
// SHOP_SERVICE names from the installed package. Every shop service also needs DATABASE_URL (its
// PostgreSQL database, reached with `pg`) and COORD_ENDPOINTS; NATS_URL picks NATS JetStream for events.
const SERVICES = ['user-service', 'inventory-service', 'order-service', 'payment-service', 'notification-service'];
const service = process.env.SHOP_SERVICE ?? '';
if (!SERVICES.includes(service)) {
  console.error(`SHOP_SERVICE must name a shop service (${SERVICES.join(', ')}); got ${JSON.stringify(service)}`);
  process.exit(2);
}
await import(new URL(`./node_modules/etcd-coord/dist/examples/shop/${service}.js`, import.meta.url).href);
