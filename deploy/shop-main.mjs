// Entry point of the demo shop's service image (deploy/service.Dockerfile): runs the service that
// SHOP_SERVICE names (user-service, inventory-service, order-service) from the installed package.
const service = process.env.SHOP_SERVICE ?? '';
if (!/^[a-z]+-service$/.test(service)) {
  console.error(`SHOP_SERVICE must name a shop service (user-service, inventory-service, order-service); got ${JSON.stringify(service)}`);
  process.exit(2);
}
await import(new URL(`./node_modules/etcd-coord/dist/examples/shop/${service}.js`, import.meta.url).href);
