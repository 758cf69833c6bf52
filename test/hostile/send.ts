/**
 * Sends one hostile input and records what came back, whatever the transport: HTTP and SSE through
 * `node:http` (which sends what `fetch` would refuse to), raw TCP through `node:net`, graphql-ws
 * through `ws`. Every input connects from a source address of its own (127.x.y.z; all of 127/8 is
 * loopback on Linux), so that per-client rate limits and caps see a client per input, not one
 * client sending a thousand requests.
 *
 * The answer is complete when the transport says so (the response ended, the socket closed, an
 * error or `complete` arrived); past the input's deadline the client gives up and reports a timeout.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import WebSocket from 'ws';
import type { HttpInput, Observation, Request, SseInput, TcpInput, WsInput, WsStep } from './types.ts';

export interface Target {
  host: string;
  port: number;
}

export interface SendOptions {
  /** Source address of the connection(s). */
  localAddress: string;
  /** The Authorization value (HTTP, SSE) or connection_init token (WebSocket); none when undefined. */
  authorization: string | undefined;
  deadlineMs: number;
}

type Errors = Observation['errors'];

/** Errors and whether there is data, from a parsed GraphQL response or graphql-ws payload. */
function graphqlOf(value: unknown): { errors: Errors; data: boolean } {
  if (Array.isArray(value)) return { errors: value as Errors, data: false }; // graphql-ws `error` payload
  if (typeof value !== 'object' || value === null) return { errors: [], data: false };
  const { errors, data } = value as { errors?: unknown; data?: unknown };
  return { errors: Array.isArray(errors) ? (errors as Errors) : [], data: data !== undefined && data !== null };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** An observation under construction, finished once by whichever comes first: the answer, an error or the deadline. */
class Recorder {
  readonly observation: Observation = { texts: [], errors: [], data: false, elapsedMs: 0 };
  readonly done: Promise<Observation>;
  private finish!: () => void;
  private readonly started = performance.now();
  private readonly timer: NodeJS.Timeout;
  finished = false;

  constructor(deadlineMs: number, onTimeout: () => void) {
    this.done = new Promise((resolve) => {
      this.finish = () => {
        if (this.finished) return;
        this.finished = true;
        clearTimeout(this.timer);
        this.observation.elapsedMs = Math.round(performance.now() - this.started);
        // A copy: what the transport does after the answer (our own close) is not part of it.
        const { texts, errors } = this.observation;
        resolve({ ...this.observation, texts: [...texts], errors: [...errors] });
      };
    });
    this.timer = setTimeout(() => {
      this.observation.timedOut = true;
      onTimeout();
      this.finish();
    }, deadlineMs);
  }

  graphql(text: string): void {
    this.observation.texts.push(text);
    const { errors, data } = graphqlOf(parseJson(text));
    this.observation.errors.push(...errors);
    this.observation.data ||= data;
  }

  /** The head of an HTTP response, as the client received it. */
  head(res: IncomingMessage): void {
    const lines = [`HTTP/${res.httpVersion} ${res.statusCode} ${res.statusMessage}`];
    for (let i = 0; i < res.rawHeaders.length; i += 2) lines.push(`${res.rawHeaders[i]}: ${res.rawHeaders[i + 1]}`);
    this.observation.head = lines.join('\r\n');
  }

  end(): void {
    this.finish();
  }

  fail(err: unknown): void {
    this.observation.failure ??= err instanceof Error ? `${(err as NodeJS.ErrnoException).code ?? ''} ${err.message}`.trim() : String(err);
    this.finish();
  }
}

export function sendHttp(target: Target, input: HttpInput | SseInput, options: SendOptions): Promise<Observation> {
  const sse = input.transport === 'sse';
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(input.headers ?? { 'content-type': 'application/json' }))
    if (value !== null) headers[name] = value;
  if (options.authorization !== undefined) headers['authorization'] = options.authorization;
  const body = input.body === undefined ? undefined : typeof input.body === 'string' ? Buffer.from(input.body) : input.body;
  if (body) headers['content-length'] = String(body.length);
  let req: ReturnType<typeof httpRequest> | undefined;
  const recorder = new Recorder(options.deadlineMs, () => req?.destroy());
  try {
    req = httpRequest({
      host: target.host,
      port: target.port,
      localAddress: options.localAddress,
      method: input.method ?? 'POST',
      path: input.path ?? (sse ? '/graphql/stream' : '/graphql'),
      headers,
      agent: false,
    });
  } catch (err) {
    // node:http refuses some header values itself: the corpus sends those over raw TCP instead.
    recorder.fail(err);
    return recorder.done;
  }
  req.on('error', (err) => recorder.fail(err));
  req.on('response', (res) => {
    recorder.observation.status = res.statusCode;
    recorder.head(res);
    if (String(res.headers['content-type']).startsWith('text/event-stream')) readEvents(res, recorder, () => req?.destroy());
    else readBody(res, recorder);
  });
  if (body && body.length > EARLY_ANSWER_BYTES) {
    // A body over the limit must be refused on its declared length, and the connection closed,
    // before it is read: a client still writing it would only see EPIPE. Only the head is sent; an
    // answer that waits for the body never comes, and the input fails on its deadline.
    req.flushHeaders();
  } else req.end(body);
  return recorder.done;
}

/** Bodies above this many bytes (over every body limit the corpus runs against) are declared, never sent. */
const EARLY_ANSWER_BYTES = 1_000_000;

function readBody(res: IncomingMessage, recorder: Recorder): void {
  const chunks: Buffer[] = [];
  res.on('data', (chunk: Buffer) => chunks.push(chunk));
  res.on('error', (err) => recorder.fail(err));
  res.on('end', () => {
    const text = Buffer.concat(chunks).toString('utf8');
    if (text) recorder.graphql(text);
    recorder.end();
  });
}

/** Server-Sent Events until `complete`, a result with errors, or the end of the response. */
function readEvents(res: IncomingMessage, recorder: Recorder, stop: () => void): void {
  let buffer = '';
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => {
    buffer += chunk;
    for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
      const message = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event:\s*(.*)$/m.exec(message)?.[1]?.trim();
      const data = [...message.matchAll(/^data:\s?(.*)$/gm)].map((m) => m[1]).join('\n');
      if (data) recorder.graphql(data);
      else if (message.trim()) recorder.observation.texts.push(message);
      if (event === 'complete' || (event === 'next' && recorder.observation.errors.length > 0)) {
        recorder.end();
        stop();
      }
    }
  });
  res.on('error', () => recorder.end());
  res.on('end', () => recorder.end());
}

/** Raw bytes; the answer is read until the server closes or a whole response (by Content-Length) came. */
export function sendTcp(target: Target, input: TcpInput, options: SendOptions): Promise<Observation> {
  const socket = connect({ host: target.host, port: target.port, localAddress: options.localAddress });
  const recorder = new Recorder(options.deadlineMs, () => socket.destroy());
  let received = Buffer.alloc(0);
  const settle = () => {
    const text = received.toString('latin1');
    const split = text.indexOf('\r\n\r\n');
    const head = split >= 0 ? text.slice(0, split) : text;
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1];
    if (status) recorder.observation.status = Number(status);
    if (head) recorder.observation.head = head;
    const body = split >= 0 ? text.slice(split + 4) : '';
    if (body) recorder.graphql(Buffer.from(body, 'latin1').toString('utf8'));
    recorder.end();
  };
  socket.on('data', (chunk) => {
    received = Buffer.concat([received, chunk]);
    const text = received.toString('latin1');
    const split = text.indexOf('\r\n\r\n');
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(text.slice(0, split))?.[1];
    if (split >= 0 && length !== undefined && received.length - split - 4 >= Number(length)) {
      settle();
      socket.destroy();
    }
  });
  socket.on('error', (err) => (received.length > 0 ? settle() : recorder.fail(err)));
  socket.on('close', () =>
    received.length > 0 ? settle() : recorder.fail(new Error('the server closed the connection without an answer')),
  );
  socket.write(input.bytes);
  return recorder.done;
}

interface WsMessage {
  type?: string;
  id?: string;
  payload?: unknown;
}

/** A graphql-ws script; the answer is a close, an `error`, `complete` or `pong`, or a `next` with errors. */
export function sendWs(target: Target, input: WsInput, options: SendOptions): Promise<Observation> {
  const url = `ws://${target.host}:${target.port}${input.path ?? '/graphql'}`;
  const socket = new WebSocket(url, input.protocols ?? ['graphql-transport-ws'], {
    localAddress: options.localAddress,
    headers: input.headers ?? {},
    handshakeTimeout: options.deadlineMs,
  });
  const recorder = new Recorder(options.deadlineMs, () => socket.terminate());
  const messages: WsMessage[] = [];
  let answered = false;
  let pongs = 0;
  const waiters = new Set<() => void>();
  const notify = () => waiters.forEach((wake) => wake());
  /** Resolves once `condition` holds (checked on every message and on close); false if the socket closed first. */
  const until = (condition: () => boolean) =>
    new Promise<boolean>((resolve) => {
      const check = () => {
        if (condition()) return (waiters.delete(check), resolve(true));
        if (recorder.observation.close || recorder.finished) return (waiters.delete(check), resolve(false));
      };
      waiters.add(check);
      check();
    });

  socket.on('unexpected-response', (_req, res) => {
    recorder.observation.status = res.statusCode;
    recorder.head(res);
    readBody(res, recorder);
  });
  socket.on('upgrade', (res) => recorder.head(res));
  socket.on('error', (err) => {
    if (recorder.observation.status === undefined) recorder.fail(err);
  });
  socket.on('close', (code, reason) => {
    recorder.observation.close = { code, reason: reason.toString() };
    recorder.observation.texts.push(reason.toString());
    notify();
    recorder.end();
  });
  socket.on('message', (raw) => {
    const text = String(raw);
    recorder.observation.texts.push(text);
    const message = (parseJson(text) ?? {}) as WsMessage;
    messages.push(message);
    if (message.type === 'pong') pongs++;
    if (message.type === 'error' || message.type === 'next') {
      const { errors, data } = graphqlOf(message.payload);
      recorder.observation.errors.push(...errors);
      recorder.observation.data ||= data;
      if (errors.length > 0) answered = true;
    }
    if (message.type === 'error' || message.type === 'complete' || message.type === 'pong') answered = true;
    notify();
  });
  socket.on('open', () => {
    void (async () => {
      for (const step of input.steps) if (!(await runStep(step))) return;
      if (!(await until(() => answered))) return;
      // Still open: it must keep answering (an operation's errors never close the socket).
      const before = pongs;
      socket.send(JSON.stringify({ type: 'ping' }));
      recorder.observation.open = await until(() => pongs > before);
      recorder.end();
      socket.close(1000);
    })().catch((err: unknown) => recorder.fail(err));
  });

  async function runStep(step: WsStep): Promise<boolean> {
    if (socket.readyState !== WebSocket.OPEN) return false;
    if ('text' in step) socket.send(typeof step.text === 'string' ? step.text : JSON.stringify(step.text));
    else if ('binary' in step) socket.send(step.binary, { binary: true });
    else if ('init' in step) {
      const payload =
        step.payload ?? (options.authorization !== undefined ? { headers: { authorization: options.authorization } } : undefined);
      socket.send(JSON.stringify(payload === undefined ? { type: 'connection_init' } : { type: 'connection_init', payload }));
      return until(() => messages.some((m) => m.type === 'connection_ack'));
    } else {
      const { type, id } = step.await;
      return until(() => messages.some((m) => m.type === type && (id === undefined || m.id === id)));
    }
    return true;
  }

  return recorder.done.finally(() => {
    if (socket.readyState === WebSocket.CONNECTING) socket.terminate();
    else if (socket.readyState === WebSocket.OPEN) {
      socket.close(1000);
      setTimeout(() => socket.terminate(), 1_000).unref();
    }
  });
}

/** Sends `request` over its transport. */
export function send(target: Target, request: Request, options: SendOptions): Promise<Observation> {
  return request.transport === 'ws'
    ? sendWs(target, request, options)
    : request.transport === 'tcp'
      ? sendTcp(target, request, options)
      : sendHttp(target, request, options);
}
