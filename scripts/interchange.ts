#!/usr/bin/env node
/**
 * `npx interchange <command>`: the project's command-line tool. `--help` lists the commands, and
 * every command has its own `--help`. Arguments are parsed by commander.
 */
import { resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_DATA_DIR } from '../lib/config.ts';
import { compose } from './cli/compose.ts';
import { subgraphNew } from './cli/subgraph-new.ts';
import { lifetime, token } from './cli/token.ts';
import { supergraphPath } from './composition.ts';
import { registryPath, schemaDir } from './registry.ts';

const program = new Command('interchange')
  .description('Interchange: a GraphQL federation gateway over REST, gRPC and Kafka-backed subgraphs.')
  .showHelpAfterError('(add --help for usage)')
  .configureOutput({ outputError: (text, write) => write(text) });

program
  .command('compose')
  .summary("compose the registry's subgraphs into the supergraph")
  .description(
    'Composes the subgraph SDLs listed in the registry into a Federation v2 supergraph and writes it. ' +
      'Errors name the file, line and column; exits 1 when composition fails.',
  )
  .addOption(new Option('--registry <file>', 'the registry of subgraphs').default(registryPath, 'schema/subgraphs.yaml'))
  .addOption(new Option('--out <file>', 'where the supergraph is written').default(supergraphPath, 'schema/supergraph.graphql'))
  .option('--check', 'only report whether the supergraph file is current (exit 1 when it is not)')
  .action(async (options: { registry: string; out: string; check?: boolean }) => {
    process.exitCode = await compose(options);
  });

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
  .summary('scaffold a subgraph on the kit from an OpenAPI file or a .proto, register it and compose')
  .description(
    "Writes a subgraph from its backend's contract: the SDL (schema/subgraphs/<name>.graphql; @key on id, root fields from " +
      'the reads, one-to-many relations such as GET /products/{productId}/reviews), subgraphs/<name>/ (data source with ' +
      'batching, resolvers, index.ts, main.ts, a test), the contract copied into schema/, and its registry entry; then ' +
      'composes schema/supergraph.graphql. A contract it cannot map is refused naming the construct and where it is, ' +
      'and nothing is written; so is a name already taken.',
  )
  .argument('<name>', 'the subgraph name: lower case letters, digits and dashes')
  .option('--from-openapi <file>', 'an OpenAPI 3 contract (YAML or JSON) of a REST service')
  .option('--from-proto <file>', 'a .proto contract of a gRPC service (one service)')
  .option(
    '--service-url <address>',
    "where the backend is, for the registry: a URL (REST; default: the contract's first server) or host:port (gRPC); ${service.listener} references allowed",
  )
  .addOption(new Option('--root <dir>', 'the project root the subgraph is written under').default(resolve(schemaDir, '..'), 'this project'))
  .option('--no-compose', 'do not compose the supergraph afterwards')
  .action(
    async (name: string, options: { fromOpenapi?: string; fromProto?: string; serviceUrl?: string; root: string; compose: boolean }) => {
      process.exitCode = await subgraphNew(name, options);
    },
  );

await program.parseAsync();
