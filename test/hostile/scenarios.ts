/**
 * Hostile inputs that are sequences rather than single requests: a burst over the rate limit, one
 * socket too many, a reservation never read, the caps on SSE reservations and streams, a client
 * over its subscription event budget. Each returns what is wrong (nothing: the documented answer
 * came); the runner reports them in the same table as the corpus. They run one at a time, after
 * the corpus and while the canaries still run, against the settings of HOSTILE_GATEWAY_ENV.
 */
import { request as httpRequest } from 'node:http';
import WebSocket from 'ws';
import { judge } from './check.ts';
import type { Credentials } from './credentials.ts';
import { DEADLINE, HOSTILE_GATEWAY_ENV, refused } from './expect.ts';
import { sendHttp, type Target } from './send.ts';
import type { Expectation, HostileInput, Observation } from './types.ts';
import { scaled, waitFor } from '../support/wait.ts';

export interface ScenarioContext {
  target: Target;
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
/** A cap refusal over HTTP or SSE. */
const capRefusal = refused([429, 503], CAPACITY);

/** The problems of one answer against an expectation, named. */
function check(what: string, expect: Expectation | Expectation[], seen: Observation, deadlineMs = DEADLINE.refusal): string[] {
  const input: HostileInput = { name: what, group: 'scenario', request: { transport: 'http' }, expect, deadlineMs };
  return judge(input, seen).map((p) => `${what}: ${p}`);
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
    deadlineMs: 15_000,
    async run(ctx) {
      const address = ctx.address();
      // The per-second window and the burst reserve together, and some more.
      const burst = setting('RATE_LIMIT_PER_SECOND') + setting('RATE_LIMIT_BURST') + 10;
      const answers = await Promise.all(Array.from({ length: burst }, () => post(ctx, address, undefined, '{ __typename }')));
      const limited = answers.filter((a) => a.status === 429);
      if (limited.length === 0)
        return [`no 429 among ${burst} requests at once (statuses ${[...new Set(answers.map((a) => a.status))].join(',')})`];
      const problems = limited.flatMap((a) => check('the refused request', refused(429, 'RATE_LIMITED'), a));
      if (!limited.every((a) => a.errors.some((e) => typeof e.extensions?.['retryAfterMs'] === 'number')))
        problems.push('a RATE_LIMITED answer without extensions.retryAfterMs');
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
    deadlineMs: 15_000,
    async run(ctx) {
      if (!ctx.credentials.canMint) return ['no tokens can be minted on this system (ExampleSystem.token)'];
      const authorization = await ctx.credentials.authorization({ kind: 'valid' }, 'hostile-rate-subject');
      const [a, b] = [ctx.address(), ctx.address()];
      const burst = setting('RATE_LIMIT_PER_SECOND') + setting('RATE_LIMIT_BURST') + 10;
      const answers = await Promise.all(Array.from({ length: burst }, (_, i) => post(ctx, i % 2 ? a : b, authorization, '{ __typename }')));
      return answers.some((r) => r.status === 429)
        ? []
        : ['the same token subject from two addresses was never limited: the client must be the subject'];
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
        return check('the socket over the cap', [capRefusal, { close: [1013, 4429] }], refusal!);
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
        () => check('a POST to the expired reservation', refused(404, ['NOT_FOUND', 'BAD_REQUEST']), last!),
        (err: Error) => [`${err.message}; last answer HTTP ${last?.status}`],
      );
    },
  },
  {
    name: 'cap/sse-reservations',
    deadlineMs: 15_000,
    async run(ctx) {
      const address = ctx.address();
      const max = setting('MAX_SSE_RESERVATIONS');
      const answers: Observation[] = [];
      for (let i = 0; i <= max; i++)
        answers.push(
          await sendHttp(
            ctx.target,
            { transport: 'sse', method: 'PUT', headers: {} },
            { localAddress: address, authorization: undefined, deadlineMs: scaled(DEADLINE.refusal) },
          ),
        );
      const refusedOnes = answers.filter((a) => a.status !== 201);
      if (refusedOnes.length === 0) return [`${max + 1} reservations were all accepted (MAX_SSE_RESERVATIONS=${max})`];
      return check('the reservation over the cap', capRefusal, refusedOnes[0]!);
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
              : check('the stream over the cap', capRefusal, stream.seen);
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
      try {
        for (let s = 0; s < setting('MAX_WEBSOCKETS_PER_CLIENT'); s++) {
          const { socket, refusal } = await openSocket(ctx, address, authorization);
          if (!socket) return [`subscriber socket ${s + 1} was refused: ${JSON.stringify(refusal)}`.slice(0, 300)];
          sockets.push(socket);
          socket.on('message', (raw) => {
            const message = JSON.parse(String(raw)) as { type: string; payload?: { errors?: unknown[] } | unknown[] };
            if (message.type === 'error' || (message.type === 'next' && !Array.isArray(message.payload) && message.payload?.errors))
              errors.push(message.payload);
          });
          for (let i = 0; i < setting('MAX_SUBSCRIPTIONS_PER_SOCKET'); i++)
            socket.send(JSON.stringify({ id: `e${i}`, type: 'subscribe', payload: { query: ORDER_EVENTS } }));
        }
        const limited = () => errors.find((e) => JSON.stringify(e).includes('RATE_LIMITED'));
        return await waitFor(() => limited() !== undefined, 20_000, 'no RATE_LIMITED in the stream of a client over its event budget').then(
          () => (JSON.stringify(limited()).includes('lastDeliveredCursor') ? [] : ['RATE_LIMITED without extensions.lastDeliveredCursor']),
          (err: Error) => [`${err.message}; errors seen: ${JSON.stringify(errors).slice(0, 200)}`],
        );
      } finally {
        for (const socket of sockets) socket.terminate();
      }
    },
  },
];
