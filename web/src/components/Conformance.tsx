// The study's conformance report (issue 17): what radflow's IOD check (PS3.3 Annex A tables,
// src/dicom/conformance.h) found missing or empty in each stored instance. A report only:
// every instance is stored whatever it says.
import type { ConformanceReport, Series } from '../types';

const SOP_CLASS_NAMES: Record<string, string> = {
  '1.2.840.10008.5.1.4.1.1.77.1.6': 'VL Whole Slide Microscopy',
  '1.2.840.10008.5.1.4.1.1.77.1.5.1': 'Ophthalmic Photography 8 Bit',
  '1.2.840.10008.5.1.4.1.1.77.1.5.2': 'Ophthalmic Photography 16 Bit',
  '1.2.840.10008.5.1.4.1.1.2': 'CT Image',
  '1.2.840.10008.5.1.4.1.1.4': 'MR Image',
  '1.2.840.10008.5.1.4.1.1.66.4': 'Segmentation',
  '1.2.840.10008.5.1.4.1.1.88.11': 'Basic Text SR',
  '1.2.840.10008.5.1.4.1.1.88.22': 'Enhanced SR',
  '1.2.840.10008.5.1.4.1.1.88.33': 'Comprehensive SR',
  '1.2.840.10008.5.1.4.1.1.88.34': 'Comprehensive 3D SR',
};

export function ConformancePanel({ report, error, series }: {
  report: ConformanceReport | null; error: string; series: Series[];
}) {
  if (error) return <p className="muted" data-testid="conformance-error">Conformance report unavailable: {error}</p>;
  if (!report) return <p className="muted">loading…</p>;
  const withProblems = report.instances.filter((i) => i.problems.length > 0);
  const problems = withProblems.reduce((n, i) => n + i.problems.length, 0);
  if (!report.instances.length) return <p className="muted" data-testid="conformance-summary">No instances checked.</p>;
  if (!withProblems.length) {
    return (
      <p className="muted" data-testid="conformance-summary">
        All {report.instances.length} instance{report.instances.length === 1 ? '' : 's'} meet the checked requirements of their IOD.
      </p>
    );
  }
  const seriesLabel = (uid: string) => {
    const s = series.find((x) => x.series_uid === uid);
    return s ? `${s.series_number} ${s.modality}${s.series_description ? ` ${s.series_description}` : ''}` : uid;
  };
  return (
    <>
      <p className="conformance-summary" data-testid="conformance-summary">
        {problems} problem{problems === 1 ? '' : 's'} in {withProblems.length} of {report.instances.length} instance
        {report.instances.length === 1 ? '' : 's'} (stored anyway; viewers may not show them).
      </p>
      <table className="grid conformance" data-testid="conformance">
        <thead><tr><th>series</th><th>instance</th><th>IOD</th><th>problems</th></tr></thead>
        <tbody>
          {withProblems.map((i) => (
            <tr key={i.sop_instance_uid} data-sop-uid={i.sop_instance_uid}>
              <td>{seriesLabel(i.series_instance_uid)}</td>
              <td className="mono" title={i.sop_instance_uid}>…{i.sop_instance_uid.slice(-12)}</td>
              <td title={i.sop_class_uid}>{i.iod || SOP_CLASS_NAMES[i.sop_class_uid] || i.sop_class_uid}</td>
              <td>
                <ul className="problems">
                  {/* Problems may repeat (one attribute in two modules): index + text is unique. */}
                  {i.problems.map((p, n) => <li key={`${n}:${p}`}>{p}</li>)}
                </ul>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
