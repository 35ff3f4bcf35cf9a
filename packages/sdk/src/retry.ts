export interface RetryOptions {
  /** Attempts after the first. Default 3. */
  retries?: number;
  /** Longest Retry-After honoured, seconds; longer waits give up. Default 30. */
  maxRetryAfterS?: number;
  /** Wait when the server gives no Retry-After, ms (doubles each time). Default 500. */
  baseDelayMs?: number;
}

/**
 * Wraps fetch so that 429 and 503 answers are retried after the server's Retry-After (or an
 * exponential backoff), up to `retries` times. The request must be safe to repeat: the SDK sends
 * an Idempotency-Key with every job creation for that reason.
 */
export function retryingFetch(
  base: typeof fetch,
  { retries = 3, maxRetryAfterS = 30, baseDelayMs = 500 }: RetryOptions = {},
): typeof fetch {
  return async function fetchWithRetries(input, init) {
    for (let attempt = 0; ; attempt++) {
      const response = await base(input, init);
      if ((response.status !== 429 && response.status !== 503) || attempt >= retries)
        return response;
      const header = Number(response.headers.get("retry-after"));
      const waitMs =
        Number.isFinite(header) && header > 0 ? header * 1000 : baseDelayMs * 2 ** attempt;
      if (waitMs > maxRetryAfterS * 1000) return response;
      await response.body?.cancel();
      await sleep(waitMs, init?.signal ?? undefined);
    }
  };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}
