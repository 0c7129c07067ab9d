import { describe, expect, it } from 'vitest';
import {
  aiPendingCount, formatAge, formatAgeSex, formatDicomDate, formatDicomTime, formatDuration,
  formatMeasure, formatModalities, formatPatientName, formatPercentChange, formatTat,
  reasonLines, waitingClass, waitingMs,
} from './format';

const MIN = 60_000;
const H = 60 * MIN;

describe('formatDuration', () => {
  it('shows minutes under an hour', () => {
    expect(formatDuration(0)).toBe('<1 min');
    expect(formatDuration(59_999)).toBe('<1 min');
    expect(formatDuration(MIN)).toBe('1 min');
    expect(formatDuration(12 * MIN + 59_000)).toBe('12 min');
    expect(formatDuration(59 * MIN)).toBe('59 min');
  });
  it('shows hours and zero-padded minutes under a day', () => {
    expect(formatDuration(H)).toBe('1 h 00');
    expect(formatDuration(2 * H + 5 * MIN)).toBe('2 h 05');
    expect(formatDuration(23 * H + 59 * MIN)).toBe('23 h 59');
  });
  it('shows days and hours beyond', () => {
    expect(formatDuration(24 * H)).toBe('1 d');
    expect(formatDuration(3 * 24 * H + 4 * H + 30 * MIN)).toBe('3 d 4 h');
  });
  it('refuses nonsense', () => {
    expect(formatDuration(-1)).toBe('—');
    expect(formatDuration(Number.NaN)).toBe('—');
  });
});

describe('formatTat', () => {
  it('is a dash until reported', () => {
    expect(formatTat(0)).toBe('—');
    expect(formatTat(45 * MIN)).toBe('45 min');
    expect(formatTat(H + 30 * MIN)).toBe('1 h 30');
  });
});

describe('waitingMs', () => {
  const arrived = 1_700_000_000_000;
  it('runs from arrival to now while unclaimed', () => {
    expect(waitingMs({ arrived_at: arrived, read_started_at: 0, waiting_ms: 5 }, arrived + 12 * MIN)).toBe(12 * MIN);
  });
  it('corrects a skewed browser clock with the server offset', () => {
    // The browser is 3 minutes behind the server: offset +3 min.
    expect(waitingMs({ arrived_at: arrived, read_started_at: 0, waiting_ms: 0 }, arrived + 9 * MIN, 3 * MIN)).toBe(12 * MIN);
  });
  it('stops at the first claim', () => {
    expect(waitingMs({ arrived_at: arrived, read_started_at: arrived + 7 * MIN, waiting_ms: 0 }, arrived + 99 * MIN)).toBe(7 * MIN);
  });
  it('never goes negative and falls back to waiting_ms without arrived_at', () => {
    expect(waitingMs({ arrived_at: arrived, read_started_at: 0, waiting_ms: 0 }, arrived - MIN)).toBe(0);
    expect(waitingMs({ arrived_at: 0, read_started_at: 0, waiting_ms: 4242 }, 1)).toBe(4242);
  });
});

describe('waitingClass', () => {
  it('warns after 30 min and alarms after 2 h', () => {
    expect(waitingClass(29 * MIN)).toBe('');
    expect(waitingClass(30 * MIN)).toBe('wait-warn');
    expect(waitingClass(2 * H)).toBe('wait-long');
  });
});

describe('DICOM values', () => {
  it('formats dates and times', () => {
    expect(formatDicomDate('20240131')).toBe('2024-01-31');
    expect(formatDicomDate('')).toBe('');
    expect(formatDicomDate('2024')).toBe('2024');
    expect(formatDicomTime('142305.123')).toBe('14:23');
    expect(formatDicomTime('')).toBe('');
  });
  it('formats person names', () => {
    expect(formatPatientName('Doe^John')).toBe('Doe, John');
    expect(formatPatientName('Doe^John^Q^^')).toBe('Doe, John Q');
    expect(formatPatientName('Lung_Dx-A0001')).toBe('Lung_Dx-A0001');
    expect(formatPatientName('Yamada^Tarou=山田^太郎')).toBe('Yamada, Tarou');
    expect(formatPatientName('')).toBe('');
  });
  it('formats modalities', () => {
    expect(formatModalities('CT\\SEG\\SR')).toBe('CT SEG SR');
    expect(formatModalities('')).toBe('');
  });
});

describe('formatAge', () => {
  it('gives years at the study date', () => {
    expect(formatAge('19800615', '20240614')).toBe('43Y');
    expect(formatAge('19800615', '20240615')).toBe('44Y');
  });
  it('gives months under two years and days under a month', () => {
    expect(formatAge('20230101', '20240615')).toBe('17M');
    expect(formatAge('20240601', '20240615')).toBe('14D');
  });
  it('uses today without a study date', () => {
    expect(formatAge('20000101', '', new Date(2024, 0, 2))).toBe('24Y');
  });
  it('is empty without a usable birth date', () => {
    expect(formatAge('', '20240101')).toBe('');
    expect(formatAge('20250101', '20240101')).toBe('');
  });
  it('joins age and sex', () => {
    expect(formatAgeSex('19800615', 'F', '20240615')).toBe('44Y F');
    expect(formatAgeSex('', 'M', '20240615')).toBe('M');
    expect(formatAgeSex('', '', '')).toBe('');
  });
});

describe('small helpers', () => {
  it('splits priority reasons given as a list or as text', () => {
    expect(reasonLines(['↑ STAT order', ' ', '↑ critical: x'])).toEqual(['↑ STAT order', '↑ critical: x']);
    expect(reasonLines('a\nb\n')).toEqual(['a', 'b']);
    expect(reasonLines(undefined)).toEqual([]);
  });
  it('formats measures and changes', () => {
    expect(formatMeasure(12.345)).toBe('12.3');
    expect(formatMeasure(0)).toBe('');
    expect(formatMeasure(null)).toBe('');
    expect(formatPercentChange(12.34)).toBe('+12.3 %');
    expect(formatPercentChange(-4)).toBe('−4.0 %');
    expect(formatPercentChange(0)).toBe('±0.0 %');
    expect(formatPercentChange(null)).toBe('');
  });
  it('counts pending AI jobs from a number or a boolean', () => {
    expect(aiPendingCount(2)).toBe(2);
    expect(aiPendingCount(true)).toBe(1);
    expect(aiPendingCount(false)).toBe(0);
    expect(aiPendingCount(undefined)).toBe(0);
  });
});
