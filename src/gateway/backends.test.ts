import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultRegistryName } from './backends.ts';

describe('default registry names', () => {
  it('derives kebab-case short names without a Service suffix', () => {
    assert.equal(defaultRegistryName('shop.OrderService'), 'order');
    assert.equal(defaultRegistryName('coord.gwtest.Library'), 'library');
    assert.equal(defaultRegistryName('shop.v1.InventoryItems'), 'inventory-items');
    assert.equal(defaultRegistryName('Service'), 'service');
    assert.equal(defaultRegistryName('x.HTTPProxyService'), 'http-proxy');
  });
});
