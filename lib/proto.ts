/**
 * Loads .proto contracts from schema/proto at run time. The options here must match the flags that
 * scripts/codegen.ts gives the type generator, so the generated types describe the loaded objects.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPackageDefinition, type GrpcObject, type ServiceClientConstructor } from '@grpc/grpc-js';
import { loadSync, type Options } from '@grpc/proto-loader';

export const protoDir = resolve(dirname(fileURLToPath(import.meta.url)), '../schema/proto');

export const protoLoaderOptions = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  arrays: true,
  oneofs: true,
} satisfies Options;

/** The same options as command-line flags for proto-loader-gen-types. */
export const protoGenFlags = ['--longs=String', '--enums=String', '--defaults', '--arrays', '--oneofs'];

export function loadProto<T>(file: string): T {
  const definition = loadSync(resolve(protoDir, file), { ...protoLoaderOptions, includeDirs: [protoDir] });
  return loadPackageDefinition(definition) as GrpcObject as T;
}

/**
 * The client constructor of `service` (its full name, `package.Service`) in a .proto of schema/proto,
 * loaded at run time: for code that has no generated types (a scaffolded subgraph). Throws naming
 * the service when the file does not define it.
 */
export function loadService(file: string, service: string): ServiceClientConstructor {
  let found: unknown = loadProto<GrpcObject>(file);
  for (const part of service.split('.')) found = (found as Record<string, unknown> | undefined)?.[part];
  if (typeof found !== 'function') throw new Error(`${file} defines no service ${service}`);
  return found as ServiceClientConstructor;
}
