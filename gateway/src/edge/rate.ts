/**
 * A per-client rate with burst, in memory (rate-limiter-flexible): up to `perSecond` a second,
 * plus a reserve of `burst` refilled at that rate (`BurstyRateLimiter`: the per-second window
 * first, the burst window once that one is spent). A rate of 0 is no limit.
 */
import { BurstyRateLimiter, RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';

export class ClientRate {
  private readonly limiter: BurstyRateLimiter | RateLimiterMemory | undefined;
  /** The windows `limiter` is made of: the per-second one, then the burst (when there is one). */
  private readonly windows: RateLimiterMemory[] = [];

  constructor(name: string, perSecond: number, burst: number) {
    if (perSecond === 0) return;
    // Windows are whole seconds: a rate below one a second is one point per so many seconds.
    const duration = perSecond >= 1 ? 1 : Math.round(1 / perSecond);
    const steady = new RateLimiterMemory({ keyPrefix: name, points: Math.max(1, Math.floor(perSecond * duration)), duration });
    this.windows.push(steady);
    if (burst === 0) {
      this.limiter = steady;
      return;
    }
    const reserve = new RateLimiterMemory({
      keyPrefix: `${name}-burst`,
      points: burst,
      duration: Math.max(1, Math.ceil(burst / perSecond)),
    });
    this.windows.push(reserve);
    this.limiter = new BurstyRateLimiter(steady, reserve);
  }

  /** False for a rate of 0: nothing is charged. */
  get limited(): boolean {
    return this.limiter !== undefined;
  }

  /** Charges one to `client`: undefined when within its rate, else the ms until it may try again (at least 1). */
  async take(client: string): Promise<number | undefined> {
    if (!this.limiter) return undefined;
    try {
      await this.limiter.consume(client);
      return undefined;
    } catch (rejection) {
      if (rejection instanceof RateLimiterRes) return Math.max(1, Math.ceil(rejection.msBeforeNext));
      throw rejection;
    }
  }

  /** Charges nothing: undefined while `client` has a point left, else the ms until it has one again (at least 1). */
  async spent(client: string): Promise<number | undefined> {
    let waitMs = Infinity;
    for (const window of this.windows) {
      const used = await window.get(client);
      if (!used || used.consumedPoints < window.points) return undefined;
      waitMs = Math.min(waitMs, used.msBeforeNext);
    }
    return this.windows.length === 0 ? undefined : Math.max(1, Math.ceil(waitMs));
  }
}
