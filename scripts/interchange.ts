#!/usr/bin/env node
/**
 * `npx interchange <command>`: the project's command-line tool. `--help` lists the commands, and
 * every command has its own `--help`. Arguments are parsed by commander.
 */
import { resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_DATA_DIR } from '../lib/config.ts';
import { check } from './cli/check.ts';
import { compose } from './cli/compose.ts';
import { subgraphNew } from './cli/subgraph-new.ts';
import { lifetime, token } from './cli/token.ts';
import { supergraphPath } from './composition.ts';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../lib/supervisor.ts';
import { registryPath, schemaDir } from './registry.ts';

const composeFilePath = resolve(repoRoot, 'docker-compose.yml');

const program = new Command('interchange')
  .description('Interchange: a GraphQL federation gateway over REST, gRPC and Kafka-backed subgraphs.')
  .showHelpAfterError('(add --help for usage)')
  .configureOutput({ outputError: (text, write) => write(text) });

program
  .command('compose')
  .summary("compose the registry's subgraphs into the supergraph")
  .description(
    'Composes the subgraph SDLs listed in the registry into a Federation v2 supergraph and writes it, and keeps ' +
      'docker-compose.yml in step with the registry. Errors name the file, line and column; exits 1 when composition fails.',
  )
  .addOption(new Option('--registry <file>', 'the registry of subgraphs').default(registryPath, 'schema/subgraphs.yaml'))
  .addOption(new Option('--out <file>', 'where the supergraph is written').default(supergraphPath, 'schema/supergraph.graphql'))
  .addOption(
    new Option('--compose-file <file>', 'the Compose file to keep in step with the registry (containers added, removed, routed)').default(
      undefined,
      'docker-compose.yml, with the project registry',
    ),
  )
  .option('--check', 'only report whether the supergraph (and the Compose file) are current (exit 1 when not)')
  .action(async (options: { registry: string; out: string; composeFile?: string; check?: boolean }) => {
    // The project's Compose file follows the project's registry; another registry's only when named.
    const composeFile = options.composeFile ?? (resolve(options.registry) === registryPath ? composeFilePath : undefined);
    process.exitCode = await compose({ ...options, composeFile });
  });

program
  .command('check')
  .summary('compare the composed supergraph with the one served')
  .description(
    "Composes the registry's subgraphs and compares the new supergraph's API schema with the one the gateway serves " +
      '(--gateway <ops url>: its /supergraph and its usage record, /usage) or with a supergraph file (--against). ' +
      'Every change is listed as breaking, dangerous or safe, with its schema coordinate and why; breaking and dangerous ' +
      'changes name the served operations that use what changed. Exits 1 on a breaking change (unless --allow-breaking), ' +
      '2 when the check cannot be made.',
  )
  .addOption(new Option('--registry <file>', 'the registry of subgraphs').default(registryPath, 'schema/subgraphs.yaml'))
  .addOption(
    new Option('--gateway <url>', "the gateway's ops listener (http://host:port), to compare with what it serves").conflicts('against'),
  )
  .addOption(new Option('--against <file>', 'a supergraph file to compare with (without --gateway: schema/supergraph.graphql)'))
  .option(
    '--usage <file>',
    "a usage record file (the gateway's USAGE_FILE) instead of the gateway's /usage; without --gateway, npm start's (DATA_DIR/gateway-usage.json) when there is one",
  )
  .option('--allow-breaking', 'exit 0 even when a change is breaking')
  .option('--json', 'print the report as JSON')
  .action(
    async (options: { registry: string; gateway?: string; against?: string; usage?: string; allowBreaking?: boolean; json?: boolean }) => {
      // Without a gateway, the operations npm start's gateway served on this machine, if it kept any.
      const local = join(process.env['DATA_DIR'] || DEFAULT_DATA_DIR, 'gateway-usage.json');
      const usage = options.usage ?? (options.gateway === undefined && existsSync(local) ? local : undefined);
      process.exitCode = await check({ ...options, usage });
    },
  );

program
  .command('token')
  .summary('print a token the example system accepts (development key set)')
  .description(
    'Prints a JWT signed with the development key set in <data dir>/auth/ (created by npm start, or here, ' +
      'whichever runs first), which the example system on the same data directory accepts. ' +
      'Use it as "Authorization: Bearer <token>", or in the playground\'s Headers tab.',
  )
  .option('--customer <id>', 'the customer the token acts for (claim customer_id)')
  .option('--scopes <scopes>', 'granted scopes, space- or comma-separated (claim scope)', '')
  .option('--admin', 'every scope there is')
  .option('--subject <name>', 'claim sub (default: the customer, else "developer")')
  .option(
    '--expires <time>',
    'lifetime: seconds, or with a unit (30m, 1h, 7d)',
    (value) => {
      if (lifetime(value) instanceof Error) throw new InvalidArgumentError('expected seconds or a time like 30m, 1h, 7d.');
      return value;
    },
    '1h',
  )
  .addOption(new Option('--data-dir <dir>', "the example system's data directory").env('DATA_DIR').default(DEFAULT_DATA_DIR, '.data'))
  .action(async (options: { customer?: string; scopes: string; admin?: boolean; subject?: string; expires: string; dataDir: string }) => {
    process.stdout.write(`${await token(options)}\n`);
  });

const subgraph = program
  .command('subgraph')
  .summary('scaffold subgraphs: `subgraph new` writes one from a contract')
  .description('Commands on the subgraphs of the registry (schema/subgraphs.yaml).');

subgraph
  .command('new')
  .summary('scaffold a subgraph on the kit from an OpenAPI file, a .proto or a topic, register it and compose')
  .description(
    "Writes a subgraph from its backend's contract: the SDL (schema/subgraphs/<name>.graphql; @key on id, root fields from " +
      'the reads, one-to-many relations such as GET /products/{productId}/reviews), subgraphs/<name>/ (data source with ' +
      'batching, resolvers, index.ts, main.ts, a test), the contract copied into schema/, and its registry entry; then ' +
      'composes schema/supergraph.graphql. From a topic (--from-topic with --event-schemas, one JSON Schema per event ' +
      'type): a projection subgraph, its entity keyed by the field marked x-key, queries by key and as a list, and a ' +
      'resumable subscription of the events. A contract it cannot map is refused naming the construct and where it is, ' +
      'and nothing is written; so is a name already taken.',
  )
  .argument('<name>', 'the subgraph name: lower case letters, digits and dashes')
  .option('--from-openapi <file>', 'an OpenAPI 3 contract (YAML or JSON) of a REST service')
  .option('--from-proto <file>', 'a .proto contract of a gRPC service (one service)')
  .option('--from-topic <topic>', 'a Kafka topic to project (with --event-schemas)')
  .option('--event-schemas <dir>', "the topic's event schemas: one JSON Schema (draft-07) file per event type (README, Adding a subgraph)")
  .option(
    '--service-url <address>',
    "where the backend is, for the registry: a URL (REST; default: the contract's first server) or host:port (gRPC); ${service.listener} references allowed",
  )
  .addOption(new Option('--root <dir>', 'the project root the subgraph is written under').default(resolve(schemaDir, '..'), 'this project'))
  .option('--no-compose', 'do not compose the supergraph afterwards')
  .action(
    async (
      name: string,
      options: {
        fromOpenapi?: string;
        fromProto?: string;
        fromTopic?: string;
        eventSchemas?: string;
        serviceUrl?: string;
        root: string;
        compose: boolean;
      },
    ) => {
      process.exitCode = await subgraphNew(name, options);
    },
  );

await program.parseAsync();
