// A referring physician's start page: the studies of their own orders (QIDO-RS
// /dicom-web/studies; the server adds ReferringPhysicianName=<their name> to the query, so
// that no other patient's study can be listed), each opened in the viewer.
import { request } from '../api';
import { useResource } from '../hooks/useResource';
import { formatDicomDate, formatPatientName } from '../lib/format';
import { ohifViewerUrl } from '../lib/ohif';

type DicomJson = Record<string, { vr: string; Value?: unknown[] }>;

export interface StudyRow { uid: string; date: string; patient: string; patientId: string; description: string; modalities: string; accession: string }

function str(ds: DicomJson, tag: string): string {
  const v = ds[tag]?.Value?.[0];
  if (v === undefined || v === null) return '';
  if (typeof v === 'object' && v !== null && 'Alphabetic' in v) return String((v as { Alphabetic: string }).Alphabetic ?? '');
  return String(v);
}

export function studyRowOf(ds: DicomJson): StudyRow {
  return {
    uid: str(ds, '0020000D'), date: str(ds, '00080020'), patient: str(ds, '00100010'), patientId: str(ds, '00100020'),
    description: str(ds, '00081030'), accession: str(ds, '00080050'),
    modalities: (ds['00080061']?.Value ?? []).map(String).join(', '),
  };
}

export function OrdersPage() {
  const studies = useResource(
    () => request<DicomJson[] | null>('GET', '/dicom-web/studies?limit=200&includefield=00081030')
      .then((r) => (r ?? []).map(studyRowOf).sort((a, b) => (a.date < b.date ? 1 : a.date > b.date ? -1 : 0))),
    [],
  );
  return (
    <div className="admin-page orders-page">
      <div className="admin-head"><h2>Studies of my patients</h2></div>
      {studies.error && <p className="error" role="alert">{studies.error}</p>}
      <table className="grid" data-testid="orders">
        <thead><tr><th>Date</th><th>Patient</th><th>ID</th><th>Accession</th><th>Modality</th><th>Description</th><th /></tr></thead>
        <tbody>
          {(studies.data ?? []).map((s) => (
            <tr key={s.uid} data-study-uid={s.uid}>
              <td className="c-date">{formatDicomDate(s.date)}</td>
              <td>{formatPatientName(s.patient)}</td>
              <td>{s.patientId}</td>
              <td>{s.accession}</td>
              <td>{s.modalities}</td>
              <td>{s.description}</td>
              <td><a href={ohifViewerUrl(s.uid, [])} target="_blank" rel="noreferrer">Open images</a></td>
            </tr>
          ))}
          {studies.data && studies.data.length === 0 && <tr><td colSpan={7} className="empty">No studies of your orders.</td></tr>}
        </tbody>
      </table>
    </div>
  );
}
