/**
 * The backends of the scaffolding fixtures (test/fixtures/contracts/), as small servers a test runs
 * on port 0: the reviews REST service of reviews.yaml and the Shipping gRPC service of
 * shipping.proto. Each counts its calls, and answers its relation reads only once several are in
 * (or after 2 s), so that calls made one after another can be told from calls made together.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import {
  Server,
  loadPackageDefinition,
  type GrpcObject,
  type ServiceClientConstructor,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoLoaderOptions } from '../../lib/proto.ts';
import { concurrencyProbe, fixtures } from './support.ts';

export interface Review {
  id: string;
  productId: string;
  rating: number;
  status: string;
  author?: { name: string };
}

export const REVIEWS: Review[] = [
  { id: 'r1', productId: 'p1', rating: 5, status: 'published', author: { name: 'Ada' } },
  { id: 'r2', productId: 'p1', rating: 3, status: 'in-review' },
  { id: 'r3', productId: 'p2', rating: 4, status: 'hidden' },
  { id: 'r4', productId: 'p3', rating: 1, status: 'published' },
];

/** The reviews service of test/fixtures/contracts/reviews.yaml, counting its calls. */
/** `together`: relation reads held until that many are in (1: answered at once). */
export function reviewsService(together = 3) {
  const calls: string[] = [];
  const probe = concurrencyProbe(together);
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    calls.push(`${url.pathname}${url.search}`);
    const byProduct = /^\/products\/([^/]+)\/reviews$/.exec(url.pathname);
    if (byProduct) {
      // Each answer waits until three calls are in: calls made one after another would never overlap.
      probe.hold(() =>
        json(
          res,
          200,
          REVIEWS.filter((r) => r.productId === decodeURIComponent(byProduct[1]!)),
        ),
      );
      return;
    }
    const one = /^\/reviews\/([^/]+)$/.exec(url.pathname);
    if (one) {
      const review = REVIEWS.find((r) => r.id === decodeURIComponent(one[1]!));
      return review ? json(res, 200, review) : json(res, 404, { title: 'no such review', status: 404 });
    }
    if (url.pathname === '/reviews') {
      const ids = url.searchParams.get('ids');
      if (ids !== null) return json(res, 200, { items: REVIEWS.filter((r) => ids.split(',').includes(r.id)) });
      return json(res, 200, { items: REVIEWS.slice(0, Number(url.searchParams.get('limit') ?? 20)) });
    }
    json(res, 404, { title: 'no such route', status: 404 });
  });
  return { server, calls, maxInFlight: probe.maxInFlight };
}

/** A shipment as the Shipping service answers it. */
export interface Shipment {
  id: string;
  orderId: string;
  carrier: string;
  status: string;
  parcels: { label: string; weightGrams: number }[];
  shippedAtMs?: string;
  trackingNumber?: string;
}

export const SHIPMENTS: Shipment[] = [
  {
    id: 's1',
    orderId: 'o1',
    carrier: 'CARRIER_POST',
    status: 'STATUS_DELIVERED',
    parcels: [{ label: 'A', weightGrams: 900 }],
    shippedAtMs: '1767225600000',
  },
  { id: 's2', orderId: 'o1', carrier: 'CARRIER_EXPRESS', status: 'STATUS_IN_TRANSIT', parcels: [], trackingNumber: 'EX-2' },
  { id: 's3', orderId: 'o2', carrier: 'CARRIER_POST', status: 'STATUS_PACKED', parcels: [] },
];

type Callback = (err: Error | null, value?: unknown) => void;
type Call<R> = { request: R };

/** The Shipping service of test/fixtures/contracts/shipping.proto over `shipments` (a test may add to them), counting its calls. */
export function shippingService(shipments: Shipment[] = SHIPMENTS, together = 2) {
  const definition = loadSync(join(fixtures, 'shipping.proto'), protoLoaderOptions);
  const proto = loadPackageDefinition(definition) as GrpcObject;
  const service = ((proto['acme'] as GrpcObject)['shipping'] as GrpcObject)['v1'] as GrpcObject;
  const calls: string[] = [];
  const probe = concurrencyProbe(together);
  const implementation: UntypedServiceImplementation = {
    GetShipment: ({ request }: Call<{ id: string }>, callback: Callback) => {
      calls.push(`GetShipment ${request.id}`);
      const found = shipments.find((s) => s.id === request.id);
      callback(found ? null : Object.assign(new Error('no such shipment'), { code: 5 }), found);
    },
    BatchGetShipments: ({ request }: Call<{ ids: string[] }>, callback: Callback) => {
      calls.push(`BatchGetShipments ${request.ids.join(',')}`);
      callback(null, { shipments: shipments.filter((s) => request.ids.includes(s.id)) });
    },
    ListShipments: ({ request }: Call<{ pageSize: number; orderId: string }>, callback: Callback) => {
      if (!request.orderId) {
        calls.push(`ListShipments pageSize=${request.pageSize}`);
        return callback(null, { shipments: shipments.slice(0, request.pageSize || 20) });
      }
      // Each answer waits until both calls are in: calls made one after another would never overlap.
      calls.push(`ListShipments orderId=${request.orderId}`);
      probe.hold(() => callback(null, { shipments: shipments.filter((s) => s.orderId === request.orderId) }));
    },
    WatchShipments: () => undefined,
  };
  const server = new Server();
  server.addService((service['Shipping'] as ServiceClientConstructor).service, implementation);
  return { server, calls, maxInFlight: probe.maxInFlight };
}
