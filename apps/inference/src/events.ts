import type { PredictionEvent } from "@easel/schema";

export interface LoggedEvent {
  /** Monotonic per prediction, starting at 1: the SSE `id`, so clients resume with Last-Event-ID. */
  id: number;
  event: PredictionEvent;
}

type Listener = (entry: LoggedEvent) => void;

/**
 * Per-prediction event history with live subscribers. Histories are kept in memory until
 * `forget` (some minutes after a prediction ends); previews are not kept in history beyond the
 * latest one, to bound memory.
 */
export class EventHub {
  private readonly logs = new Map<string, LoggedEvent[]>();
  private readonly listeners = new Map<string, Set<Listener>>();

  publish(predictionId: string, event: PredictionEvent): void {
    let log = this.logs.get(predictionId);
    if (!log) {
      log = [];
      this.logs.set(predictionId, log);
    }
    const entry = { id: (log.at(-1)?.id ?? 0) + 1, event };
    if (event.type === "preview") {
      const previous = log.findLastIndex((e) => e.event.type === "preview");
      if (previous >= 0) log.splice(previous, 1);
    }
    log.push(entry);
    for (const listener of this.listeners.get(predictionId) ?? []) listener(entry);
  }

  /** Events after `lastEventId` (all when 0). */
  history(predictionId: string, lastEventId = 0): LoggedEvent[] {
    return (this.logs.get(predictionId) ?? []).filter((e) => e.id > lastEventId);
  }

  subscribe(predictionId: string, listener: Listener): () => void {
    let set = this.listeners.get(predictionId);
    if (!set) {
      set = new Set();
      this.listeners.set(predictionId, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(predictionId);
    };
  }

  hasListeners(predictionId: string): boolean {
    return (this.listeners.get(predictionId)?.size ?? 0) > 0;
  }

  forget(predictionId: string): void {
    this.logs.delete(predictionId);
  }
}
