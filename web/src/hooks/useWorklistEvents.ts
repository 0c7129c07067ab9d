// Server-sent events of /api/v1/worklist/events: every event (debounced) calls `onChange`.
import { useEffect, useRef, useState } from 'react';
import { debounce } from '../lib/debounce';
import type { WorklistEvent } from '../types';

export type Live = 'connecting' | 'live' | 'offline';
export const EVENTS_URL = '/api/v1/worklist/events';

/**
 * Calls `onChange(events)` ~`waitMs` after a burst of worklist events ends (at the latest
 * every second during a long burst), with the events of the burst. `filter` keeps only
 * some (e.g. one study's). Returns the connection state.
 */
export function useWorklistEvents(onChange: (events: WorklistEvent[]) => void,
                                  filter?: (e: WorklistEvent) => boolean, waitMs = 100): Live {
  const [live, setLive] = useState<Live>('connecting');
  const handler = useRef(onChange);
  const keep = useRef(filter);
  handler.current = onChange;
  keep.current = filter;

  useEffect(() => {
    if (typeof EventSource === 'undefined') {
      setLive('offline');
      return undefined;
    }
    let batch: WorklistEvent[] = [];
    const d = debounce(() => {
      const events = batch;
      batch = [];
      handler.current(events);
    }, waitMs, 1000);
    const source = new EventSource(EVENTS_URL);
    const onEvent = (e: MessageEvent) => {
      let ev: WorklistEvent = { study_uid: '', reason: '' };
      try { ev = JSON.parse(e.data); } catch { /* an event without JSON still means "changed" */ }
      if (keep.current && !keep.current(ev)) return;
      batch.push(ev);
      d.trigger();
    };
    let wasOffline = false;
    source.addEventListener('worklist', onEvent as EventListener);
    source.onmessage = onEvent;
    source.onopen = () => {
      setLive('live');
      // Reconnected after a break: events may have been missed.
      if (wasOffline) { wasOffline = false; batch.push({ study_uid: '', reason: 'reconnected' }); d.trigger(); }
    };
    source.onerror = () => { setLive('offline'); wasOffline = true; };
    return () => {
      d.cancel();
      source.close();
    };
  }, [waitMs]);
  return live;
}
