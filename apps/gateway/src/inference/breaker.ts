/**
 * A per-backend circuit breaker: after `failureThreshold` consecutive failures the circuit opens
 * and the backend is skipped for `cooldownMs`; then one trial request is let through (half-open),
 * and its outcome closes or re-opens the circuit.
 */
export class CircuitBreaker {
  private failures = 0;
  private openUntil = 0;
  private trialInFlight = false;

  constructor(
    private readonly failureThreshold: number,
    private readonly cooldownMs: number,
    private readonly now: () => number = Date.now,
  ) {
    if (failureThreshold < 1 || cooldownMs < 0)
      throw new RangeError("CircuitBreaker: bad thresholds");
  }

  get state(): "closed" | "open" | "half-open" {
    if (this.failures < this.failureThreshold) return "closed";
    return this.now() < this.openUntil ? "open" : "half-open";
  }

  /** Whether a request may go to this backend now (claims the half-open trial). */
  allow(): boolean {
    const state = this.state;
    if (state === "closed") return true;
    if (state === "open" || this.trialInFlight) return false;
    this.trialInFlight = true;
    return true;
  }

  success(): void {
    this.failures = 0;
    this.trialInFlight = false;
  }

  failure(): void {
    this.failures += 1;
    this.trialInFlight = false;
    if (this.failures >= this.failureThreshold) this.openUntil = this.now() + this.cooldownMs;
  }
}
