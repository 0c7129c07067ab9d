// Coalescing of bursts (worklist events arrive per instance while a study is stored):
// `fn` runs `waitMs` after the last trigger, and at least every `maxWaitMs` during a burst.

export interface Debounced {
  trigger(): void;
  cancel(): void;
  flush(): void;
  pending(): boolean;
}

export function debounce(fn: () => void, waitMs: number, maxWaitMs = Infinity): Debounced {
  let timer: ReturnType<typeof setTimeout> | null = null;
  let firstAt = 0;
  const fire = () => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    firstAt = 0;
    fn();
  };
  return {
    trigger() {
      const now = Date.now();
      if (timer === null) firstAt = now;
      else clearTimeout(timer);
      const wait = Math.max(0, Math.min(waitMs, firstAt + maxWaitMs - now));
      timer = setTimeout(fire, wait);
    },
    cancel() {
      if (timer !== null) clearTimeout(timer);
      timer = null;
      firstAt = 0;
    },
    flush() {
      if (timer !== null) fire();
    },
    pending() {
      return timer !== null;
    },
  };
}
