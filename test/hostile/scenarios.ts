/**
 * Hostile inputs that are sequences rather than single requests: a burst over the rate limit, one
 * socket too many, a reservation never read, the caps on SSE reservations and streams, a client
 * over its subscription event budget, a subgraph called around the gateway, a second gateway with
 * the production switch on. Each returns what is wrong (nothing: the documented answer came), every
 * answer judged like a corpus input's; the runner reports them in the same table as the corpus.
 * They run one at a time, after the corpus and while the canaries still run, against the settings
 * of HOSTILE_GATEWAY_ENV.
 */
import { request as httpRequest } from 'node:http';
import WebSocket from 'ws';
import type { ExampleSystem } from '../../scripts/system.ts';
import { readRegistry, subgraphProcessName } from '../../scripts/registry.ts';
import { judge } from './check.ts';
import type { Credentials } from './credentials.ts';
import { DEADLINE, HOSTILE_GATEWAY_ENV, ok, refused } from './expect.ts';
import { productionInputs, startUndocumentedSubgraph } from './production.ts';
import { send, sendHttp, type Target } from './send.ts';
import type { Expectation, HostileInput, HttpInput, Observation } from './types.ts';
import { startExtraGateway, type SubscriptionSystem } from '../subscriptions/support.ts';
import { scaled, waitFor } from '../support/wait.ts';

export interface ScenarioContext {
  target: Target;
  /** The gateway's URL: the one address of the system an answer may show. */
  publicUrl: string;
  system: ExampleSystem;
  credentials: Credentials;
  /** A source address no other input or scenario uses. */
  address(): string;
}

export interface Scenario {
  name: string;
  /** The whole scenario must be done within this (ms, scaled). */
  deadlineMs: number;
  run(ctx: ScenarioContext): Promise<string[]>;
}

const setting = (name: string) => Number(HOSTILE_GATEWAY_ENV[name]);
const ORDER_EVENTS = 'subscription { orderEvents { cursor type } }';
const CAPACITY = 'CAPACITY_EXCEEDED';
/** A cap refusal over HTTP or SSE, naming the cap (extensions.limit). */
const capRefusal = (limit: string) => refused([429, 503], CAPACITY, [limit]);
const rateLimited = refused(429, 'RATE_LIMITED', ['operationRate']);

/** The problems of one answer against an expectation, named. */
function check(
  ctx: ScenarioContext,
  what: string,
  expect: Expectation | readonly Expectation[],
  seen: Observation,
  deadlineMs = DEADLINE.refusal,
): string[] {
  const input: HostileInput = { name: what, group: 'scenario', request: { transport: 'http' }, expect, deadlineMs };
  return judge(input, seen, ctx.publicUrl).map((p) => `${what}: ${p}`);
}

/** `count` calls of `send`, at most `inFlight` at once; their results in order. */
async function inPool<T>(count: number, inFlight: number, send: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++) results[i] = await send(i);
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, count) }, worker));
  return results;
}

/** The burst of the rate-limit scenarios: far over the per-second rate and the burst (the issue sent 3,000 at ~1,240/s), bounded. */
const BURST = 400;
/** Requests of a burst in flight at once: fast enough to exceed the rate, few enough not to stall the canaries. */
const BURST_IN_FLIGHT = 32;

/** The problems of a burst's answers: each served or refused as RATE_LIMITED (with retryAfterMs); at least one refused. */
function judgeBurst(ctx: ScenarioContext, answers: Observation[]): string[] {
  const problems = answers.flatMap((a, i) => check(ctx, `request ${i + 1} of the burst`, [ok(), rateLimited], a));
  const limited = answers.filter((a) => a.status === 429);
  if (limited.length === 0)
    problems.unshift(`no 429 among ${answers.length} requests (statuses ${[...new Set(answers.map((a) => a.status))].join(',')})`);
  if (!limited.every((a) => a.errors.some((e) => typeof e.extensions?.['retryAfterMs'] === 'number')))
    problems.push('a RATE_LIMITED answer without extensions.retryAfterMs');
  return problems;
}

/** A POST of `query` (a document, or a whole body with extensions). */
const post = (
  ctx: ScenarioContext,
  localAddress: string,
  authorization: string | undefined,
  query: string | Record<string, unknown>,
  path = '/graphql',
  headers: Record<string, string> = {},
) =>
  sendHttp(
    ctx.target,
    {
      transport: path === '/graphql' ? 'http' : 'sse',
      method: 'POST',
      path,
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(typeof query === 'string' ? { query } : query),
    },
    { localAddress, authorization, deadlineMs: scaled(DEADLINE.run) },
  );

/** A graphql-ws socket, initialised; resolves with it or with how it was refused. */
function openSocket(
  ctx: ScenarioContext,
  localAddress: string,
  authorization: string | undefined,
): Promise<{ socket?: WebSocket; refusal?: Observation }> {
  return new Promise((resolve) => {
    const socket = new WebSocket(`ws://${ctx.target.host}:${ctx.target.port}/graphql`, 'graphql-transport-ws', { localAddress });
    const seen: Observation = { texts: [], errors: [], data: false, elapsedMs: 0 };
    socket.on('unexpected-response', (_req, res) => {
      seen.status = res.statusCode;
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => {
        seen.texts.push(body);
        try {
          seen.errors.push(...((JSON.parse(body) as { errors?: Observation['errors'] }).errors ?? []));
        } catch {
          // an uncoded answer: judged as such
        }
        resolve({ refusal: seen });
      });
    });
    socket.on('error', (err) => seen.status === undefined && resolve({ refusal: { ...seen, failure: err.message } }));
    socket.on('close', (code, reason) =>
      resolve({ refusal: { ...seen, close: { code, reason: String(reason) }, texts: [String(reason)] } }),
    );
    socket.on('open', () =>
      socket.send(JSON.stringify({ type: 'connection_init', ...(authorization && { payload: { headers: { authorization } } }) })),
    );
    socket.on('message', (raw) => {
      const message = JSON.parse(String(raw)) as { type: string };
      if (message.type === 'connection_ack') resolve({ socket });
    });
    setTimeout(() => resolve({ refusal: { ...seen, timedOut: true } }), scaled(DEADLINE.run)).unref();
  });
}

/** A Server-Sent Events POST held open; resolves with its status (and body when refused). */
function openStream(
  ctx: ScenarioContext,
  localAddress: string,
  authorization: string | undefined,
): Promise<{ close(): void; seen: Observation }> {
  return new Promise((resolve) => {
    const seen: Observation = { texts: [], errors: [], data: false, elapsedMs: 0 };
    const body = JSON.stringify({ query: ORDER_EVENTS });
    const req = httpRequest({
      host: ctx.target.host,
      port: ctx.target.port,
      localAddress,
      method: 'POST',
      path: '/graphql/stream',
      agent: false,
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        'content-length': Buffer.byteLength(body),
        ...(authorization && { authorization }),
      },
    });
    const close = () => req.destroy();
    req.on('error', (err) => resolve({ close, seen: { ...seen, failure: err.message } }));
    req.on('response', (res) => {
      seen.status = res.statusCode;
      if (res.statusCode === 200) return resolve({ close, seen });
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => {
        seen.texts.push(text);
        try {
          seen.errors.push(...((JSON.parse(text) as { errors?: Observation['errors'] }).errors ?? []));
        } catch {
          // an uncoded answer: judged as such
        }
        resolve({ close, seen });
      });
    });
    req.end(body);
  });
}

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'rate-limit/burst-from-one-address',
    deadlineMs: 30_000,
    async run(ctx) {
      const address = ctx.address();
      const answers = await inPool(BURST, BURST_IN_FLIGHT, () => post(ctx, address, undefined, '{ __typename }'));
      const problems = judgeBurst(ctx, answers);
      // Once the budget refills, the client is served again.
      await waitFor(
        async () => (await post(ctx, address, undefined, '{ __typename }')).status === 200,
        10_000,
        'the limited client was never served again',
      ).catch((err: Error) => problems.push(err.message));
      return problems.slice(0, 5);
    },
  },
  {
    name: 'rate-limit/one-subject-from-two-addresses',
    deadlineMs: 30_000,
    async run(ctx) {
      if (!ctx.credentials.canMint) return ['no tokens can be minted on this system (ExampleSystem.token)'];
      const authorization = await ctx.credentials.authorization({ kind: 'valid' }, 'hostile-rate-subject');
      const [a, b] = [ctx.address(), ctx.address()];
      const answers = await inPool(BURST, BURST_IN_FLIGHT, (i) => post(ctx, i % 2 ? a : b, authorization, '{ __typename }'));
      const problems = judgeBurst(ctx, answers);
      if (problems[0]?.startsWith('no 429')) problems[0] += ': the same token subject from two addresses must be one client';
      return problems.slice(0, 5);
    },
  },
  {
    name: 'cap/websockets-per-client',
    deadlineMs: 15_000,
    async run(ctx) {
      const address = ctx.address();
      const max = setting('MAX_WEBSOCKETS_PER_CLIENT');
      const opened: WebSocket[] = [];
      try {
        for (let i = 0; i < max; i++) {
          const { socket, refusal } = await openSocket(ctx, address, undefined);
          if (!socket) return [`socket ${i + 1} of ${max} allowed was refused: ${JSON.stringify(refusal)}`.slice(0, 300)];
          opened.push(socket);
        }
        const { socket, refusal } = await openSocket(ctx, address, undefined);
        if (socket) return (opened.push(socket), [`socket ${max + 1} was accepted (MAX_WEBSOCKETS_PER_CLIENT=${max})`]);
        // Refused at the upgrade (a coded 429/503) or closed after it (1013 try again later, or 4429).
        return check(ctx, 'the socket over the cap', [capRefusal('websocketsPerClient'), { close: [1013, 4429] }], refusal!);
      } finally {
        for (const s of opened) s.terminate();
      }
    },
  },
  {
    name: 'sse/reservation-never-read-expires',
    deadlineMs: 20_000,
    async run(ctx) {
      const address = ctx.address();
      const authorization = await ctx.credentials.authorization({ kind: 'valid', scopes: ['orders:all'] }, 'hostile-reservation');
      const reserved = await sendHttp(
        ctx.target,
        { transport: 'sse', method: 'PUT', headers: {} },
        { localAddress: address, authorization, deadlineMs: scaled(DEADLINE.run) },
      );
      const token = reserved.texts[0];
      if (reserved.status !== 201 || !token) return [`PUT /graphql/stream: HTTP ${reserved.status}, expected 201 with a token`];
      // Single connection mode: operations name themselves in extensions.operationId.
      const operation = (query: string, operationId: string) => ({ query, extensions: { operationId } });
      const streamed = await post(ctx, address, authorization, operation(ORDER_EVENTS, 'events'), '/graphql/stream', {
        'x-graphql-event-stream-token': token,
      });
      if (streamed.status !== 202) return [`POST with the reservation: HTTP ${streamed.status}, expected 202`];
      // Never read: the reservation (and its subscription) must go after SSE_RESERVATION_TTL_MS.
      const ttl = setting('SSE_RESERVATION_TTL_MS');
      let last: Observation | undefined;
      return waitFor(
        async () => {
          last = await post(ctx, address, authorization, operation('{ __typename }', `probe-${Date.now()}`), '/graphql/stream', {
            'x-graphql-event-stream-token': token,
          });
          return last.status === 404;
        },
        ttl + 10_000,
        'the reservation never expired',
        250,
      ).then(
        () => check(ctx, 'a POST to the expired reservation', refused(404, ['NOT_FOUND', 'BAD_REQUEST']), last!),
        (err: Error) => [`${err.message}; last answer HTTP ${last?.status}`],
      );
    },
  },
  {
    name: 'cap/sse-reservations',
    deadlineMs: 15_000,
    async run(ctx) {
      const address = ctx.address();
      // One client: its own cap (MAX_SSE_RESERVATIONS_PER_CLIENT) comes before the gateway's ceiling.
      const max = setting('MAX_SSE_RESERVATIONS_PER_CLIENT');
      // All at once: one after another on a loaded machine, the first would expire (SSE_RESERVATION_TTL_MS) before the last came.
      const answers = await inPool(max + 1, max + 1, () =>
        sendHttp(
          ctx.target,
          { transport: 'sse', method: 'PUT', headers: {} },
          { localAddress: address, authorization: undefined, deadlineMs: scaled(DEADLINE.refusal) },
        ),
      );
      const refusedOnes = answers.filter((a) => a.status !== 201);
      if (refusedOnes.length === 0) return [`${max + 1} reservations were all accepted (MAX_SSE_RESERVATIONS_PER_CLIENT=${max})`];
      return [
        ...answers.filter((a) => a.status === 201).flatMap((a) => check(ctx, 'a reservation', { status: 201 }, a)),
        ...refusedOnes.flatMap((a) => check(ctx, 'the reservation over the cap', capRefusal('sseReservationsPerClient'), a)),
      ];
    },
  },
  {
    name: 'cap/sse-streams',
    deadlineMs: 30_000,
    async run(ctx) {
      const max = setting('MAX_SSE_STREAMS');
      const streams: { close(): void; seen: Observation }[] = [];
      try {
        for (let i = 0; i <= max; i++) {
          // Every stream from a client of its own: the cap on open streams holds whoever opens them.
          const authorization = await ctx.credentials.authorization({ kind: 'valid', scopes: ['orders:all'] }, `hostile-stream-${i}`);
          const stream = await openStream(ctx, ctx.address(), authorization);
          streams.push(stream);
          if (stream.seen.status !== 200)
            return i < max
              ? [`stream ${i + 1} of ${max} allowed was refused: HTTP ${stream.seen.status}`]
              : check(ctx, 'the stream over the cap', capRefusal('sseStreams'), stream.seen);
        }
        return [`${max + 1} streams were all opened (MAX_SSE_STREAMS=${max})`];
      } finally {
        for (const s of streams) s.close();
      }
    },
  },
  {
    name: 'rate-limit/subscription-events',
    deadlineMs: 30_000,
    async run(ctx) {
      // As many identical subscriptions as the caps let one client open: every event of the canaries' orders counts that many times against its budget.
      const authorization = await ctx.credentials.authorization({ kind: 'valid', scopes: ['orders:all'] }, 'hostile-event-budget');
      const address = ctx.address();
      const sockets: WebSocket[] = [];
      const errors: unknown[] = [];
      // Every message is judged: events for leaks, errors for the code (and limit) of the event budget.
      const problems: string[] = [];
      const judgeMessage = (text: string, payload: unknown, type: string) => {
        const list = Array.isArray(payload) ? payload : ((payload as { errors?: unknown[] } | undefined)?.errors ?? []);
        const seen: Observation = { texts: [text], errors: list as Observation['errors'], data: false, elapsedMs: 0 };
        // The budget's error names its limit and where to resume (lastDeliveredCursor, checked below).
        const expect: Expectation = list.length > 0 ? { code: 'RATE_LIMITED', limit: ['subscriptionEvents'] } : {};
        if (problems.length < 5) problems.push(...check(ctx, `a ${type} message of the stream`, expect, seen));
      };
      try {
        for (let s = 0; s < setting('MAX_WEBSOCKETS_PER_CLIENT'); s++) {
          const { socket, refusal } = await openSocket(ctx, address, authorization);
          if (!socket) return [`subscriber socket ${s + 1} was refused: ${JSON.stringify(refusal)}`.slice(0, 300)];
          sockets.push(socket);
          socket.on('message', (raw) => {
            const text = String(raw);
            const message = JSON.parse(text) as { type: string; payload?: { errors?: unknown[] } | unknown[] };
            judgeMessage(text, message.payload, message.type);
            if (message.type === 'error' || (message.type === 'next' && !Array.isArray(message.payload) && message.payload?.errors))
              errors.push(message.payload);
          });
          socket.on('close', (code, reason) => problems.push(`a subscriber socket was closed: ${code} ${String(reason)}`));
          for (let i = 0; i < setting('MAX_SUBSCRIPTIONS_PER_SOCKET'); i++)
            socket.send(JSON.stringify({ id: `e${i}`, type: 'subscribe', payload: { query: ORDER_EVENTS } }));
        }
        const limited = () => errors.find((e) => JSON.stringify(e).includes('RATE_LIMITED'));
        const outcome = await waitFor(
          () => limited() !== undefined,
          20_000,
          'no RATE_LIMITED in the stream of a client over its event budget',
        ).then(
          () => (JSON.stringify(limited()).includes('lastDeliveredCursor') ? [] : ['RATE_LIMITED without extensions.lastDeliveredCursor']),
          (err: Error) => [`${err.message}; errors seen: ${JSON.stringify(errors).slice(0, 200)}`],
        );
        return [...outcome, ...problems];
      } finally {
        for (const socket of sockets) {
          socket.removeAllListeners('close');
          socket.terminate();
        }
      }
    },
  },
  {
    name: 'subgraphs/called-without-the-gateway-signature',
    deadlineMs: 20_000,
    async run(ctx) {
      // Every subgraph of the registry, over HTTP, POST and GET: 401 UNAUTHENTICATED, whatever the query.
      const problems: string[] = [];
      for (const { name } of (await readRegistry()).subgraphs) {
        const child = ctx.system.processes.get(subgraphProcessName(name));
        if (!child) {
          problems.push(`${name}: no such process in the system`);
          continue;
        }
        const target = { host: '127.0.0.1', port: Number(child.ports['http']) };
        const options = { localAddress: ctx.address(), authorization: undefined, deadlineMs: scaled(DEADLINE.refusal) };
        const query = '{ __typename }';
        const requests: HttpInput[] = [
          { transport: 'http', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query }) },
          {
            transport: 'http',
            method: 'GET',
            path: `/graphql?query=${encodeURIComponent(query)}`,
            headers: { 'apollo-require-preflight': 'true' },
          },
        ];
        for (const request of requests)
          problems.push(
            ...check(
              ctx,
              `${name} subgraph, ${request.method ?? 'POST'}`,
              refused(401, 'UNAUTHENTICATED'),
              await sendHttp(target, request, options),
            ),
          );
      }
      return problems;
    },
  },
  {
    name: 'production/switch',
    deadlineMs: 90_000,
    async run(ctx) {
      const standIn = await startUndocumentedSubgraph();
      try {
        const { subgraphs } = (await (await fetch(`${ctx.system.opsUrl('gateway')}/readyz`)).json()) as {
          subgraphs: { name: string; url: string }[];
        };
        // PRODUCTION wins over INTROSPECTION and PLAYGROUND; the customers subgraph is the stand-in.
        const gateway = await startExtraGateway({ gatewayOpsUrl: ctx.system.opsUrl('gateway'), system: ctx.system } as SubscriptionSystem, {
          PRODUCTION: 'true',
          INTROSPECTION: 'true',
          PLAYGROUND: 'true',
          SUBGRAPH_URLS: subgraphs.map((s) => `${s.name}=${s.name === 'customers' ? standIn.url : s.url}`).join(','),
        });
        try {
          const target = { host: '127.0.0.1', port: Number(gateway.child.ports.http) };
          const problems: string[] = [];
          for (const input of productionInputs()) {
            const auth = 'auth' in input.request ? input.request.auth : undefined;
            const seen = await send(target, input.request, {
              localAddress: ctx.address(),
              authorization: await ctx.credentials.authorization(auth, `hostile-production-${input.name}`),
              deadlineMs: scaled(input.deadlineMs),
            });
            problems.push(...judge(input, seen, gateway.gatewayUrl).map((p) => `${input.name}: ${p}`));
          }
          return problems;
        } finally {
          await gateway.child.stop();
        }
      } finally {
        await standIn.close();
      }
    },
  },
];
