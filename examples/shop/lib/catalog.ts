// What the shop sells: the SKUs, their prices and the stock each starts with. The order service
// checks orders against it and prices them; the inventory service seeds its stock from it.

export interface Product {
  priceCents: number;
  initialStock: number;
}

/** `limited` runs out quickly (try ordering 4 of it twice). */
export const CATALOG: Readonly<Record<string, Product>> = {
  book: { priceCents: 1500, initialStock: 100_000 },
  mug: { priceCents: 900, initialStock: 100_000 },
  pen: { priceCents: 250, initialStock: 100_000 },
  limited: { priceCents: 4999, initialStock: 5 },
};

export const SKUS = Object.keys(CATALOG);
