import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SimilarCase } from '../../api/admin';
import { installFetch, type Call } from '../../test/fakes';
import type { Finding } from '../../types';
import { SimilarCases, findingMeasures, formatDistance } from './SimilarCases';

function finding(over: Partial<Finding>): Finding {
  return {
    id: 1, job_id: 1, app_id: 'lung-nodules', study_uid: '1.2', series_uid: '1.2.1', label: 'nodule',
    size_mm: 8.2, volume_ml: 0.29, score: 0.9, severity: 'moderate', details: {}, created_at: 0, ...over,
  };
}

const SIMILAR: SimilarCase[] = [
  { finding: finding({ id: 11, label: 'solid nodule', size_mm: 8.0, volume_ml: 0.27 }), patient_id: 'P7',
    study_uid: '1.7', study_date: '20240301', distance: 0.1234,
    report: { id: 70, status: 'final', impression_text: 'Solid nodule RUL 8 mm. Lung-RADS 4A.', signed_at: Date.UTC(2024, 2, 2) } },
  { finding: finding({ id: 12, label: '', type: { value: 'x', scheme: 'y', meaning: 'Lung nodule' }, size_mm: 9, volume_ml: 0 }),
    patient_id: 'P8', study_uid: '1.8', study_date: '', distance: 12.5, report: null },
];

let calls: Call[];
beforeEach(() => {
  calls = installFetch((c) => {
    const m = /^\/api\/v1\/findings\/(\d+)\/similar\?k=(\d+)$/.exec(c.url);
    if (!m) return undefined;
    if (m[1] === '404') return { status: 404, body: { error: 'no finding 404' } };
    if (m[1] === '5') return { body: { finding: finding({ id: 5 }), features: [], similar: [] } };
    return { body: { finding: finding({ id: Number(m[1]) }), features: ['size_mm', 'volume_ml'],
                     similar: Number(m[2]) > 10 ? [...SIMILAR, ...SIMILAR] : SIMILAR } };
  });
});
afterEach(() => cleanup());

describe('SimilarCases', () => {
  it('lists the other patients’ findings with distance, date and their signed impression', async () => {
    render(<SimilarCases findingId={42} />);
    await waitFor(() => expect(screen.getAllByTestId('similar-case')).toHaveLength(2));
    expect(calls[0].url).toBe('/api/v1/findings/42/similar?k=10');
    const [a, b] = screen.getAllByTestId('similar-case');
    expect(a.textContent).toContain('solid nodule');
    expect(a.textContent).toContain('8.0 mm · 0.27 mL');
    expect(a.textContent).toContain('distance 0.12');
    expect(a.textContent).toContain('Patient P7');
    expect(a.textContent).toContain('2024-03-01');
    expect(a.textContent).toContain('Solid nodule RUL 8 mm. Lung-RADS 4A.');
    expect(a.textContent).toContain('final');
    expect(b.textContent).toContain('Lung nodule');
    expect(b.textContent).toContain('9.0 mm');
    expect(b.textContent).toContain('no signed report');
    expect(b.textContent).toContain('date unknown');
    expect(screen.getByTestId('similar-cases').textContent).toContain('to nodule 8.2 mm · 0.29 mL');
  });

  it('follows the finding id and says when there is nothing or an error', async () => {
    const { rerender } = render(<SimilarCases findingId={5} />);
    expect((await screen.findByText('No similar findings of other patients.'))).toBeTruthy();
    rerender(<SimilarCases findingId={404} />);
    expect((await screen.findByRole('alert')).textContent).toContain('no finding 404');
  });

  it('formats measures and distances', () => {
    expect(findingMeasures(finding({ size_mm: 0, volume_ml: 12.345 }))).toBe('12.35 mL');
    expect(findingMeasures(null)).toBe('');
    expect(formatDistance(1.234)).toBe('1.23');
    expect(formatDistance(NaN)).toBe('—');
  });

  it('asks for more neighbours', async () => {
    installFetch((c) => ({ body: { finding: finding({}), features: [],
      similar: Array.from({ length: c.url.endsWith('k=10') ? 10 : 20 }, (_, i) => ({ ...SIMILAR[0], distance: i })) } }));
    render(<SimilarCases findingId={1} />);
    await waitFor(() => expect(screen.getAllByTestId('similar-case')).toHaveLength(10));
    fireEvent.click(screen.getByRole('button', { name: 'show more' }));
    await waitFor(() => expect(screen.getAllByTestId('similar-case')).toHaveLength(20));
  });
});
