import { useEffect, useState } from 'react';

/** Date.now(), refreshed every `intervalMs` (waiting times tick while the page is open). */
export function useNow(intervalMs = 10_000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(t);
  }, [intervalMs]);
  return now;
}
