/**
 * Unary gRPC calls under a `CallPolicy`, with a deadline sent to the server so it can stop work the
 * caller no longer waits for. Status codes map to registered error codes; UNAVAILABLE (and
 * DEADLINE_EXCEEDED on idempotent reads) is retried, INVALID_ARGUMENT and the like never are.
 */
import {
  status as Status,
  type CallOptions,
  type Client,
  type ClientUnaryCall,
  type Metadata,
  type ServiceClientConstructor,
  type ServiceError,
} from '@grpc/grpc-js';
import { ErrorCode } from '../../lib/errors.ts';
import { createCallPolicy, UpstreamFailure, type CallPolicy, type ResilienceOptions } from './resilience.ts';

export type UnaryMethod<Req, Res> = (
  request: Req,
  metadata: Metadata,
  options: CallOptions,
  callback: (err: ServiceError | null, response?: Res) => void,
) => ClientUnaryCall;

export interface GrpcCaller {
  readonly policy: CallPolicy;
  /** Calls a unary method; resolves null on NOT_FOUND. */
  unary<Req, Res>(method: UnaryMethod<Req, Res>, request: Req, idempotent: boolean): Promise<Res | null>;
}

/** A client made from a loaded service definition (not exported by grpc-js under this name). */
export type ServiceClient = InstanceType<ServiceClientConstructor>;

/**
 * The unary method `name` of a client made at run time from a loaded .proto (lib/proto.ts
 * `loadService`), where no generated type names it. Throws when the service has no such method.
 */
export function unaryMethod<Req, Res>(client: ServiceClient, name: string): UnaryMethod<Req, Res> {
  const method = client[name];
  if (typeof method !== 'function') throw new Error(`the gRPC service has no method ${name}`);
  return method as UnaryMethod<Req, Res>;
}

export function createGrpcCaller(client: Client, options: ResilienceOptions, metadata: () => Metadata): GrpcCaller {
  const policy = createCallPolicy(options);
  const { upstream } = options;
  const attempt = <Req, Res>(method: UnaryMethod<Req, Res>, request: Req, signal: AbortSignal) =>
    new Promise<Res | null>((resolve, reject) => {
      const deadline = new Date(Date.now() + options.timeoutMs);
      const call = method.call(client, request, metadata(), { deadline }, (err, response) => {
        signal.removeEventListener('abort', cancel);
        if (!err) return resolve(response ?? null);
        if (err.code === Status.NOT_FOUND) return resolve(null);
        reject(translateStatus(err, upstream, options.timeoutMs));
      });
      const cancel = () => call.cancel();
      signal.addEventListener('abort', cancel, { once: true });
    });
  return {
    policy,
    unary: (method, request, idempotent) => policy.run((signal) => attempt(method, request, signal), idempotent),
  };
}

function translateStatus(err: ServiceError, upstream: string, timeoutMs: number): UpstreamFailure {
  const detail = `${upstream}: ${Status[err.code]}: ${err.details}`;
  switch (err.code) {
    case Status.UNAVAILABLE:
      return new UpstreamFailure(ErrorCode.UPSTREAM_UNAVAILABLE, detail, true, upstream, err);
    case Status.DEADLINE_EXCEEDED:
      // The call's deadline and the policy's timeout are the same instant; whichever fires first,
      // the caller gets the same error (and no internal address from the status details).
      return new UpstreamFailure(ErrorCode.UPSTREAM_TIMEOUT, `${upstream} did not answer within ${timeoutMs} ms`, true, upstream, err);
    case Status.RESOURCE_EXHAUSTED:
      return new UpstreamFailure(ErrorCode.UPSTREAM_OVERLOADED, detail, false, upstream, err);
    default:
      return new UpstreamFailure(ErrorCode.UPSTREAM_BAD_RESPONSE, detail, false, upstream, err);
  }
}
