/**
 * Whether each subgraph of the served supergraph answers: `GET /healthz` at its URL's origin (what
 * every Interchange subgraph serves; any other server answers something too), every `intervalMs`
 * and after each reload. It is no GraphQL request, so it costs the subgraph no operation. A
 * subgraph answers when an HTTP response below 500 comes back in time. `/readyz` on the ops
 * listener shows the latest answers; the gateway stays ready while a subgraph does not answer (it
 * serves what the others can).
 */
export interface SubgraphAnswer {
  name: string;
  url: string;
  answers: boolean | null;
  /** Why it does not answer (HTTP status, connection refused, timeout); null before the first check. */
  problem?: string | undefined;
  checkedAt?: string | undefined;
}

export class SubgraphProbe {
  private answers = new Map<string, SubgraphAnswer>();
  private subgraphs: { name: string; url: string }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly timeoutMs: number;

  constructor(options: { timeoutMs: number }) {
    this.timeoutMs = options.timeoutMs;
  }

  /**
   * Probes these subgraphs from now on (at once, then every `intervalMs`). The answers of subgraphs
   * no longer among them (removed by a reload, or moved to another URL) are dropped.
   */
  watch(subgraphs: { name: string; url: string }[], intervalMs: number): void {
    this.subgraphs = subgraphs;
    const watched = new Set(subgraphs.map(key));
    for (const known of this.answers.keys()) if (!watched.has(known)) this.answers.delete(known);
    clearInterval(this.timer);
    void this.check();
    this.timer = setInterval(() => void this.check(), intervalMs);
    this.timer.unref();
  }

  /** The latest answers, one per subgraph of the served supergraph. */
  report(): SubgraphAnswer[] {
    return this.subgraphs.map((s) => {
      const answer = this.answers.get(key(s));
      return answer ?? { ...s, answers: null };
    });
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async check(): Promise<void> {
    await Promise.all(
      this.subgraphs.map(async (s) => {
        const answer = await this.ask(s.url);
        // A reload may have removed the subgraph while it was asked: its answer is of no one now.
        if (!this.subgraphs.some((w) => key(w) === key(s))) return;
        this.answers.set(key(s), { ...answer, name: s.name, url: s.url, checkedAt: new Date().toISOString() });
      }),
    );
  }

  private async ask(url: string): Promise<{ answers: boolean; problem?: string }> {
    try {
      const response = await fetch(new URL('/healthz', url), { signal: AbortSignal.timeout(this.timeoutMs) });
      await response.arrayBuffer();
      return response.status < 500 ? { answers: true } : { answers: false, problem: `HTTP ${response.status}` };
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code;
      return { answers: false, problem: cause ?? (err instanceof Error ? err.name : String(err)) };
    }
  }
}

const key = (s: { name: string; url: string }) => `${s.name}\u0000${s.url}`;
