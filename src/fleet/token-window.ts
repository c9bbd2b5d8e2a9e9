import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { retryAfterMs } from '../pool/retry.js';
import type { FleetRedisClient } from './redis.js';
import { untilStopped } from './until-stopped.js';

/** rate-limiter-flexible's answer: how much of the window is used, and when it ends. */
interface WindowState {
  consumedPoints: number;
  remainingPoints: number;
  msBeforeNext: number;
}

/** The part of rate-limiter-flexible's `RateLimiterRedis` a token window uses. */
interface RedisWindow {
  get(key: string): Promise<WindowState | null>;
  penalty(key: string, points: number): Promise<WindowState>;
  block(key: string, secDuration: number): Promise<WindowState>;
}

/** The budget's window: OpenAI's tokens-per-minute limit is per minute. */
const WINDOW_SECONDS = 60;
/**
 * A request held back asks again at least this often, so a window another process ended early (the upstream's
 * reset came sooner, an operator deleted the key) lets it go within a second rather than a minute.
 */
const RECHECK_MS = 1_000;

const requireDependency = createRequire(import.meta.url);

/**
 * A fleet-wide tokens-per-minute budget in Redis (rate-limiter-flexible's `RateLimiterRedis`: a counter per
 * one-minute window, incremented and expired atomically in Lua). Tokens are known only once a response reports
 * its usage, so a request is let in while the window has tokens left and its usage is counted when it ends: the
 * window can overrun by what the requests let in together spend, which `maxConcurrent` bounds.
 */
export class TokenWindow {
  readonly tokensPerMinute: number;
  readonly #window: RedisWindow;
  readonly #key: string;
  /** Tokens left in the window when Redis last said; the budget itself until then. */
  #remaining: number;
  /** Until when this process has already told the fleet to pause: one `block` per upstream reset, not per response. */
  #pausedUntil = 0;

  constructor(client: FleetRedisClient, key: string, tokensPerMinute: number) {
    const { RateLimiterRedis } = requireDependency('rate-limiter-flexible') as {
      RateLimiterRedis: new (options: Record<string, unknown>) => RedisWindow;
    };
    this.tokensPerMinute = tokensPerMinute;
    this.#remaining = tokensPerMinute;
    this.#key = key;
    this.#window = new RateLimiterRedis({
      storeClient: client,
      keyPrefix: 'poolscope:fleet-tokens',
      points: tokensPerMinute,
      duration: WINDOW_SECONDS,
      // Fail at once while the client is not connected, rather than queueing behind a reconnect.
      rejectIfRedisNotReady: true,
    });
  }

  get remaining(): number {
    return this.#remaining;
  }

  /**
   * Resolves once the fleet's window has tokens left; waits for the window to end otherwise. Rejects with `stop`'s
   * reason when it aborts, and with Redis' error when Redis cannot be asked.
   */
  async admit(stop: AbortSignal): Promise<void> {
    for (;;) {
      const state = await untilStopped(this.#window.get(this.#key), stop);
      this.#remaining = state ? state.remainingPoints : this.tokensPerMinute;
      if (!state || state.consumedPoints < this.tokensPerMinute) return;
      // A window without an expiry (set by hand, or by something else than poolscope) is asked about every second,
      // not spun on: msBeforeNext is then -1.
      const waitMs = state.msBeforeNext > 0 ? Math.min(state.msBeforeNext, RECHECK_MS) : RECHECK_MS;
      await sleep(waitMs, undefined, { signal: stop }).catch((error: unknown) => {
        throw stop.aborted ? stop.reason : error;
      });
    }
  }

  /** Counts tokens a response reported as used. Rejects with Redis' error when Redis cannot be told. */
  async spend(tokens: number): Promise<void> {
    const state = await this.#window.penalty(this.#key, tokens);
    this.#remaining = state.remainingPoints;
  }

  /**
   * Pauses the whole fleet's window for `resetMs` (the upstream's own window ran out), once per reset however
   * many responses report it.
   */
  async pause(resetMs: number): Promise<void> {
    const until = Date.now() + resetMs;
    if (until <= this.#pausedUntil) return;
    this.#pausedUntil = until;
    try {
      // Whole seconds, rounded up: rate-limiter-flexible stores a block of under a second with no expiry at all.
      await this.#window.block(this.#key, Math.ceil(resetMs / 1000));
    } catch (error) {
      this.#pausedUntil = 0;
      throw error;
    }
    this.#remaining = 0;
  }
}

/**
 * How long until the upstream's token limit resets, when it says none are left (OpenAI's
 * `x-ratelimit-remaining-tokens: 0`, with `x-ratelimit-reset-tokens`, else `retry-after`); undefined otherwise.
 */
export function exhaustedTokensResetMs(headers: { get(name: string): string | null }): number | undefined {
  if (headers.get('x-ratelimit-remaining-tokens')?.trim() !== '0') return undefined;
  const resetMs = parseResetDuration(headers.get('x-ratelimit-reset-tokens')) ?? retryAfterMs(headers);
  return resetMs !== undefined && resetMs > 0 ? resetMs : undefined;
}

/**
 * OpenAI's reset durations (`x-ratelimit-reset-tokens`): Go-style `1s`, `6m0s`, `1m30.5s`, `250ms`, `1h2m`.
 * Undefined when absent or not in that form.
 */
export function parseResetDuration(value: string | null): number | undefined {
  const text = value?.trim();
  if (!text || !/^(\d+(\.\d+)?(h|ms|m|s))+$/.test(text)) return undefined;
  const unitMs = { h: 3_600_000, m: 60_000, s: 1_000, ms: 1 } as const;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s)/g))
    total += Number(amount) * unitMs[unit as keyof typeof unitMs];
  return total;
}
