import { useCallback, useEffect, useRef, useState } from 'react';
import { errorMessage } from '../lib/errors';

export interface Resource<T> {
  data: T | null;
  error: string;
  reload: () => Promise<void>;
}

/** Loads `fetcher()` now and on reload(); the last answer wins, errors are kept as text. */
export function useResource<T>(fetcher: () => Promise<T>, deps: unknown[]): Resource<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState('');
  const seq = useRef(0);
  const run = useCallback(fetcher, deps);
  const reload = useCallback(async () => {
    const mine = ++seq.current;
    try {
      const value = await run();
      if (mine !== seq.current) return;
      setData(value);
      setError('');
    } catch (e) {
      if (mine === seq.current) setError(errorMessage(e));
    }
  }, [run]);
  useEffect(() => { void reload(); }, [reload]);
  return { data, error, reload };
}
