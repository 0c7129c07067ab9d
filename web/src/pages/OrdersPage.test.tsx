import { cleanup, render, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { App } from '../App';
import { installFetch } from '../test/fakes';
import { studyRowOf } from './OrdersPage';

afterEach(() => cleanup());

const study = (uid: string, date: string) => ({
  '0020000D': { vr: 'UI', Value: [uid] }, '00080020': { vr: 'DA', Value: [date] },
  '00100010': { vr: 'PN', Value: [{ Alphabetic: 'Doe^Jane' }] }, '00100020': { vr: 'LO', Value: ['P7'] },
  '00080061': { vr: 'CS', Value: ['CT', 'SR'] }, '00081030': { vr: 'LO', Value: ['CT CHEST'] },
});

describe('a referring physician\'s studies', () => {
  it('reads the QIDO answer', () => {
    expect(studyRowOf(study('1.2', '20240110'))).toEqual({
      uid: '1.2', date: '20240110', patient: 'Doe^Jane', patientId: 'P7', description: 'CT CHEST', modalities: 'CT, SR', accession: '' });
  });

  it('lists them newest first with a link to the viewer', async () => {
    window.history.replaceState(null, '', '/orders');
    const calls = installFetch((c) => (c.url.startsWith('/dicom-web/studies') ? { body: [study('1.1', '20230101'), study('1.2', '20240110')] } : undefined),
      { user: 'dr.ref', role: 'referring', referring_name: 'Ref^Doc' });
    render(<App />);
    await waitFor(() => expect(document.querySelectorAll('tr[data-study-uid]')).toHaveLength(2));
    const rows = [...document.querySelectorAll('tr[data-study-uid]')];
    expect(rows.map((r) => r.getAttribute('data-study-uid'))).toEqual(['1.2', '1.1']);
    expect(rows[0].querySelector('a')!.getAttribute('href')).toContain('StudyInstanceUIDs=1.2');
    expect(screen.getByText('Studies of my patients')).toBeTruthy();
    expect(calls.filter((c) => c.url.startsWith('/api/v1/worklist'))).toHaveLength(0);
  });
});
