/** The last N request durations, for the snapshot's average and percentiles (1000 by default, as `DatabasePool.getStats()` averages over). */
export class LatencyWindow {
  readonly #samples: Float64Array;
  #next = 0;
  #count = 0;

  constructor(size: number) {
    this.#samples = new Float64Array(size);
  }

  record(ms: number): void {
    this.#samples[this.#next] = ms;
    this.#next = (this.#next + 1) % this.#samples.length;
    if (this.#count < this.#samples.length) this.#count++;
  }

  reset(): void {
    this.#next = 0;
    this.#count = 0;
  }

  /** Sorting happens here, at read time, never on the request path. */
  summary(): { count: number; averageMs: number; p50Ms: number; p95Ms: number; p99Ms: number } {
    const count = this.#count;
    if (count === 0) return { count: 0, averageMs: 0, p50Ms: 0, p95Ms: 0, p99Ms: 0 };
    const sorted = this.#samples.slice(0, count).sort();
    let sum = 0;
    for (const value of sorted) sum += value;
    const at = (q: number) => sorted[Math.min(count - 1, Math.ceil(q * count) - 1)] ?? 0;
    return { count, averageMs: sum / count, p50Ms: at(0.5), p95Ms: at(0.95), p99Ms: at(0.99) };
  }
}

/** Events counted in one-second buckets over the last minute ("failures in the last minute"). */
export class MinuteCounter {
  readonly #buckets = new Uint32Array(60);
  readonly #stamps = new Float64Array(60);

  record(nowMs: number = Date.now()): void {
    const second = Math.floor(nowMs / 1000);
    const index = second % 60;
    if (this.#stamps[index] !== second) {
      this.#stamps[index] = second;
      this.#buckets[index] = 0;
    }
    this.#buckets[index]! += 1;
  }

  lastMinute(nowMs: number = Date.now()): number {
    const now = Math.floor(nowMs / 1000);
    let total = 0;
    for (let i = 0; i < 60; i++) {
      const stamp = this.#stamps[i]!;
      if (stamp > now - 60 && stamp <= now) total += this.#buckets[i]!;
    }
    return total;
  }

  reset(): void {
    this.#buckets.fill(0);
    this.#stamps.fill(0);
  }
}
