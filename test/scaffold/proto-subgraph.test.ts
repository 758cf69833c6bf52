/**
 * End to end, from a .proto: `interchange subgraph new shipping --from-proto` in a scratch copy of
 * the project writes a subgraph that loads the .proto at run time (no codegen), type-checks, passes
 * its own test, composes with the project's subgraphs (its `Order` stub with the orders subgraph's
 * Order), and, started as a process against a gRPC service this test runs, answers a root field and
 * the join `Order.shipments`, with `BatchGetShipments` used for lookups by id.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startChild, type Child } from '../../lib/supervisor.ts';
import { generateTypes } from '../../scripts/codegen.ts';
import { bindInsecure, shutdownGracefully } from '../../services/catalog/grpc-server.ts';
import { postGraphQL } from '../support/graphql.ts';
import { identityHeaders, TEST_IDENTITY_SECRET } from '../support/identity.ts';
import { assertRefusesUnsigned, fixtures, runTestFile, scratchProject, subgraphNew, typecheck, type Scratch } from './support.ts';
import { shippingService } from './services.ts';

describe('interchange subgraph new --from-proto', () => {
  let scratch: Scratch | undefined;
  let service: ReturnType<typeof shippingService> | undefined;
  let subgraph: Child<'http' | 'ops'> | undefined;
  let address: string;

  before(async () => {
    service = shippingService();
    address = `127.0.0.1:${await bindInsecure(service.server, '127.0.0.1', 0)}`;
    scratch = await scratchProject();
  });
  after(async () => {
    await subgraph?.stop();
    if (service) await shutdownGracefully(service.server, 1_000);
    await scratch?.remove();
  });

  test(
    'writes the subgraph over the .proto, registered with its address, and composes it with the orders subgraph',
    { timeout: 120_000 },
    async () => {
      const run = await subgraphNew(scratch!.root, 'shipping', '--from-proto', join(fixtures, 'shipping.proto'), '--service-url', address);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /wrote schema\/proto\/shipping\.proto/);
      assert.match(run.stdout, /left out: rpc WatchShipments: streaming rpcs are not mapped/);
      const datasource = await readFile(join(scratch!.root, 'subgraphs/shipping/datasource.ts'), 'utf8');
      assert.match(datasource, /loadService\('shipping\.proto', 'acme\.shipping\.v1\.Shipping'\)/);
      assert.doesNotMatch(datasource, /schema\/generated/, 'no generated types: the .proto is loaded at run time');
      const sdl = await readFile(join(scratch!.root, 'schema/subgraphs/shipping.graphql'), 'utf8');
      assert.match(sdl, /type Shipment @key\(fields: "id"\)/);
      assert.match(sdl, /type Order @key\(fields: "id"\) \{\n {2}id: ID!\n.*\n {2}shipments: \[Shipment!\]!\n\}/);
      const registry = await readFile(join(scratch!.root, 'schema/subgraphs.yaml'), 'utf8');
      assert.match(
        registry,
        new RegExp(
          `- name: shipping\\n(.*\\n)* {4}url: http://localhost:4104/graphql\\n(.*\\n)* {6}SHIPPING_SERVICE_ADDRESS: ${address.replaceAll('.', '\\.')}\\n$`,
        ),
      );
      // schema/generated is what the project's .proto files give, the new one included (the contracts test checks it).
      assert.match(run.stdout, /wrote schema\/generated\/ \(\d+ files: the \.proto types/);
      const fresh = await mkdtemp(join(tmpdir(), 'interchange-types-'));
      try {
        for (const file of await generateTypes(join(scratch!.root, 'schema/proto'), fresh)) {
          assert.equal(
            await readFile(join(scratch!.root, 'schema/generated', file), 'utf8'),
            await readFile(join(fresh, file), 'utf8'),
            file,
          );
        }
      } finally {
        await rm(fresh, { recursive: true, force: true });
      }
      const supergraph = await readFile(join(scratch!.root, 'schema/supergraph.graphql'), 'utf8');
      assert.match(supergraph, /type Order\n(.*\n)* {2}shipments: \[Shipment!\]! @join__field\(graph: SHIPPING\)/);
    },
  );

  test('the generated code type-checks and its own test passes', { timeout: 180_000 }, async () => {
    assert.equal(await typecheck(scratch!.root, ['subgraphs/shipping']), '');
    const own = await runTestFile(join(scratch!.root, 'subgraphs/shipping/subgraph.test.ts'));
    assert.equal(own.code, 0, own.output);
  });

  test(
    'as a process, it answers root fields from the gRPC service, lookups by id in one BatchGetShipments',
    { timeout: 120_000 },
    async () => {
      subgraph = await startChild({
        name: 'shipping-subgraph',
        entry: join(scratch!.root, 'subgraphs/shipping/main.ts'),
        env: { LOG_LEVEL: 'warn', IDENTITY_SECRET: TEST_IDENTITY_SECRET, SHIPPING_SERVICE_ADDRESS: address },
        listeners: ['http', 'ops'],
      });
      const url = `http://127.0.0.1:${subgraph.ports.http}/graphql`;
      const list = await postGraphQL(
        url,
        '{ shipments(first: 2) { id carrier status trackingNumber parcels { label weightGrams } order { id } } }',
        {},
        identityHeaders(),
      );
      assert.deepEqual(list.body, {
        data: {
          shipments: [
            {
              id: 's1',
              carrier: 'CARRIER_POST',
              status: 'STATUS_DELIVERED',
              trackingNumber: null,
              parcels: [{ label: 'A', weightGrams: 900 }],
              order: { id: 'o1' },
            },
            { id: 's2', carrier: 'CARRIER_EXPRESS', status: 'STATUS_IN_TRANSIT', trackingNumber: 'EX-2', parcels: [], order: { id: 'o1' } },
          ],
        },
      });
      assert.deepEqual(service!.calls, ['ListShipments pageSize=2']);

      service!.calls.length = 0;
      const byId = await postGraphQL(
        url,
        'query ($representations: [_Any!]!) { one: shipment(id: "s3") { status } _entities(representations: $representations) { ... on Shipment { id shippedAtMs } } }',
        { representations: ['s1', 'nope'].map((id) => ({ __typename: 'Shipment', id })) },
        identityHeaders(),
      );
      assert.deepEqual(byId.body, {
        data: { one: { status: 'STATUS_PACKED' }, _entities: [{ id: 's1', shippedAtMs: '1767225600000' }, null] },
      });
      assert.deepEqual(service!.calls, ['BatchGetShipments s3,s1,nope'], 'three lookups in one request, one batch call');

      service!.calls.length = 0;
      const joined = await postGraphQL(
        url,
        'query ($representations: [_Any!]!) { _entities(representations: $representations) { ... on Order { id shipments { id } } } }',
        { representations: ['o1', 'o2'].map((id) => ({ __typename: 'Order', id })) },
        identityHeaders(),
      );
      assert.deepEqual(joined.body, {
        data: {
          _entities: [
            { id: 'o1', shipments: [{ id: 's1' }, { id: 's2' }] },
            { id: 'o2', shipments: [{ id: 's3' }] },
          ],
        },
      });
      assert.deepEqual([...service!.calls].sort(), ['ListShipments orderId=o1', 'ListShipments orderId=o2']);
      assert.equal(service!.maxInFlight(), 2, 'both calls were in flight together, not one after another');
    },
  );
  test("as a process, it refuses a call without the gateway's signed identity", { timeout: 30_000 }, async () => {
    assert.ok(subgraph, 'the subgraph process was started by the test before');
    await assertRefusesUnsigned(`http://127.0.0.1:${subgraph.ports.http}`);
  });
});
