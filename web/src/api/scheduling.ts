// Typed client of the scheduling analytics REST (docs/scheduling.md; src/api/scheduling_api.h):
// per station and local day the booked / performed / no-show / idle figures, the high-risk
// appointments of a range with the suggested action, and the stations with their hours.
// Times are unix ms, dates YYYYMMDD (the hub's local day).
import { request } from '../api';
import type { Order } from './orders';

export interface StationDay {
  station_ae: string;
  date: string;              // YYYYMMDD
  day_start: number;         // local midnight, unix ms
  booked: number;            // not cancelled
  performed: number;         // completed, in progress, or its images arrived
  no_shows: number;
  cancelled: number;
  discontinued: number;
  pending: number;           // scheduled or arrived, not yet performed
  open_minutes: number;
  booked_minutes: number;
  performed_minutes: number;
  idle_minutes: number;      // open minutes already past with nothing performed
  elapsed_minutes: number;   // open minutes already past (a day to come: 0)
  unbooked_minutes: number;  // open minutes with no appointment
  no_show_minutes: number;
  expected_no_shows: number; // sum of the model's risks
  scored: number;
}

export interface DaysAnswer { from: number; to: number; days: StationDay[] }

export type Action = 'reminder call' | 'overbook slot' | 'confirm by phone' | string;
export interface RiskyItem { order: Order; action: Action; why: string }
export interface RiskyAnswer { from: number; to: number; threshold: number; overbook: number; model: boolean; items: RiskyItem[] }

export interface Station {
  station_ae: string; station_name: string; open: string; close: string;
  days?: string;             // "Mon,Tue,Wed,Thu,Fri": the weekdays it is open
  configured: boolean;       // from --station-hours (else the default hours)
}

const q = (params: Record<string, string | number | undefined>) =>
  Object.entries(params).filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`).join('&');

export const scheduling = {
  days: (from: number, to: number, station = '', signal?: AbortSignal) =>
    request<DaysAnswer>('GET', `/api/v1/scheduling/days?${q({ from, to, station })}`, undefined, signal),
  risky: (from: number, to: number, threshold: number, signal?: AbortSignal) =>
    request<RiskyAnswer>('GET', `/api/v1/scheduling/risky?${q({ from, to, threshold })}`, undefined, signal),
  stations: (signal?: AbortSignal) =>
    request<{ stations: Station[] }>('GET', '/api/v1/scheduling/stations', undefined, signal)
      .then((r) => r?.stations ?? []),
};
