/** The .proto reader: what it maps from small contracts into the scaffold's model, and what it refuses, with where. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ContractError } from '../../scripts/scaffold/model.ts';
import { readProto } from '../../scripts/scaffold/proto.ts';
import { contractFolder, fixtures } from './support.ts';

/** A contract with one service reading `Review`, whose fields are `fields`. */
const withReview = (fields: string, head = '') => `syntax = "proto3";
package shop.reviews.v1;
${head}
service Reviews {
  rpc GetReview(GetReviewRequest) returns (Review);
}
message GetReviewRequest { string id = 1; }
message Review {
  string id = 1;
  ${fields}
}
`;

describe('the .proto reader', { timeout: 30_000 }, () => {
  const contracts = contractFolder('interchange-proto-');
  after(contracts.remove);
  const read = async (text: string) => readProto(await contracts.write('reviews.proto', text), 'reviews');
  const refuses = async (text: string, message: string) => {
    await assert.rejects(read(text), (err: Error) => {
      assert.ok(err instanceof ContractError, String(err));
      assert.equal(err.message, message);
      return true;
    });
  };

  test('maps the fixture: a read by id, BatchGetShipments, a list, Order.shipments, nested types and enums', () => {
    const model = readProto(join(fixtures, 'shipping.proto'), 'shipping');
    assert.equal(model.service, 'acme.shipping.v1.Shipping');
    const [shipment] = model.entities;
    assert.equal(shipment?.name, 'Shipment');
    assert.deepEqual(shipment.byId, {
      operation: 'GetShipment',
      label: 'rpc GetShipment',
      unwrap: undefined,
      input: { name: 'id', in: 'field' },
    });
    assert.deepEqual(shipment.batch?.input, { name: 'ids', in: 'field', list: 'array' });
    assert.equal(shipment.batch?.unwrap, 'shipments');
    assert.deepEqual(shipment.list?.limit, { name: 'pageSize', in: 'field' });
    assert.deepEqual(
      model.relations.map((r) => [r.owner, r.field, r.entity, r.read.operation, r.read.input]),
      [['Order', 'shipments', 'Shipment', 'ListShipments', { name: 'orderId', in: 'field' }]],
    );
    assert.deepEqual(model.stubs, ['Order']);
    assert.deepEqual(
      model.objects.map((o) => [
        o.name,
        o.fields.map((f) => `${f.name}: ${f.type.list ? `[${f.type.name}]` : f.type.name}${f.type.nullable ? '' : '!'}`),
      ]),
      [
        [
          'Shipment',
          [
            'id: ID!',
            'orderId: ID!',
            'carrier: Carrier!',
            'status: ShipmentStatus!',
            'parcels: [ShipmentParcel]!',
            'trackingNumber: String',
            'shippedAtMs: String!',
            'insuredValue: Float!',
          ],
        ],
        ['ShipmentParcel', ['label: String!', 'weightGrams: Int!']],
      ],
    );
    assert.deepEqual(
      model.enums.map((e) => [e.name, e.values.map((v) => v.name)]),
      [
        ['Carrier', ['CARRIER_UNSPECIFIED', 'CARRIER_POST', 'CARRIER_EXPRESS']],
        ['ShipmentStatus', ['STATUS_UNSPECIFIED', 'STATUS_PACKED', 'STATUS_IN_TRANSIT', 'STATUS_DELIVERED']],
      ],
    );
    assert.deepEqual(model.skipped, ['rpc WatchShipments: streaming rpcs are not mapped']);
  });

  test('a read by id alone is an entity without a batch read (the loader calls concurrently)', async () => {
    const model = await read(withReview('int32 stars = 2;'));
    assert.equal(model.entities[0]?.batch, undefined);
    assert.equal(model.entities[0]?.byId?.operation, 'GetReview');
  });

  test('refuses a map, a oneof, bytes and well-known types, naming the message and field', async () => {
    await refuses(withReview('map<string, int32> x = 2;'), "reviews.proto: message Review field 'x': map<string, int32> is not supported");
    await refuses(
      withReview('oneof kind { string text = 2; int32 stars = 3; }'),
      "reviews.proto: message Review oneof 'kind': oneof is not supported",
    );
    await refuses(withReview('bytes photo = 2;'), "reviews.proto: message Review field 'photo': bytes is not supported");
    await refuses(
      withReview('google.protobuf.Timestamp created_at = 2;', 'import "google/protobuf/timestamp.proto";'),
      "reviews.proto: message Review field 'created_at': google.protobuf.Timestamp is not supported",
    );
  });

  test('refuses a file it cannot parse, and one with two services or none', async () => {
    await assert.rejects(read('syntax = "proto3"; message {'), /^ContractError: reviews\.proto: cannot be read: /);
    await refuses(
      `${withReview('')}\nservice Other { rpc GetReview(GetReviewRequest) returns (Review); }`,
      'reviews.proto: defines 2 services (shop.reviews.v1.Reviews, shop.reviews.v1.Other): one per contract is supported',
    );
    await refuses('syntax = "proto3"; message A { string id = 1; }', 'reviews.proto: defines no service');
  });
});
