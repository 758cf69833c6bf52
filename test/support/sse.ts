/**
 * A GraphQL over SSE client for tests (graphql-sse, distinct connections mode): one POST per
 * operation, its response read as it arrives and kept as a list of server-sent events.
 */
import type { NextPayload } from '../subscriptions/support.ts';
import { waitFor } from './wait.ts';

export interface ServerSentEvent {
  event: string;
  /** The parsed `data` field; null when it is empty. */
  data: unknown;
}

/** A POST to the SSE endpoint, its response read as it arrives. */
export class EventStream {
  readonly events: ServerSentEvent[] = [];
  /** Settles when the server ended the response (or the client closed it). */
  readonly ended: Promise<void>;
  private done = false;

  readonly response: Response;
  private readonly abort: AbortController;

  private constructor(response: Response, abort: AbortController) {
    this.response = response;
    this.abort = abort;
    this.ended = this.read().finally(() => (this.done = true));
  }

  /** POSTs `body` with `accept: text/event-stream`, and `headers` (an `authorization`, say) besides. */
  static async post(url: string, body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<EventStream> {
    const abort = new AbortController();
    const response = await fetch(url, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify(body),
      signal: abort.signal,
    });
    return new EventStream(response, abort);
  }

  get finished(): boolean {
    return this.done;
  }

  /** The `data` of every `next` event so far. */
  nexts<D = Record<string, unknown>>(): NextPayload<D>[] {
    return this.events.filter((e) => e.event === 'next').map((e) => e.data as NextPayload<D>);
  }

  /** Waits until the server has ended the response. */
  async untilEnded(timeoutMs = 60_000): Promise<void> {
    await waitFor(() => this.done, timeoutMs, 'the event stream did not end', 10);
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.ended;
  }

  private async read(): Promise<void> {
    if (!this.response.body) return;
    const decoder = new TextDecoder();
    let text = '';
    const reader = this.response.body.getReader();
    try {
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
        text += decoder.decode(chunk.value, { stream: true });
        for (let end = text.indexOf('\n\n'); end >= 0; end = text.indexOf('\n\n')) {
          this.parse(text.slice(0, end));
          text = text.slice(end + 2);
        }
      }
    } catch (err) {
      if (!this.abort.signal.aborted) throw err;
    }
  }

  /** One message: `event:` and `data:` fields; lines starting with `:` are comments (keep-alives). */
  private parse(message: string): void {
    let event: string | undefined;
    let data = '';
    for (const line of message.split('\n')) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data += line.slice(5).trim();
    }
    if (event) this.events.push({ event, data: data ? JSON.parse(data) : null });
  }
}
