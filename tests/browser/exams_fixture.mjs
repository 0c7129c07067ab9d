// The day of a CT/MR department that tests/browser/exams.test.mjs books through the REST
// (POST /api/v1/orders): realistic requested procedures and reasons for exam (the wording of
// ACR Appropriateness Criteria variants and RIS order texts), three stations, every
// priority, over about three hours from a start time `t0` (ms).

/**
 * The start of the test's day: an hour ago, kept inside today (local) so that every exam of
 * examOrders (t0 .. t0 + 3 h) is on the page of today.
 */
export function dayStart(now = Date.now()) {
  const d = new Date(now);
  const midnight = new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
  const next = new Date(d.getFullYear(), d.getMonth(), d.getDate() + 1).getTime();
  const t0 = Math.floor((now - 60 * 60_000) / (15 * 60_000)) * 15 * 60_000;
  return Math.min(Math.max(t0, midnight + 15 * 60_000), next - 4 * 60 * 60_000);
}

const P = (id, name, birth, sex) => ({ patient_id: id, patient_name: name, birth_date: birth, sex });

// [key, station, minutes after t0, duration, priority, modality, code, procedure, reason, patient]
const ROWS = [
  ['head-stroke', 'CT1', 0, 15, 'STAT', 'CT', 'RPID16', 'CT HEAD WO CONTRAST', 'Sudden onset left-sided weakness and facial droop, last known well 07:10; suspected acute stroke', P('MRN40017', 'Okafor^Chinedu', '19480312', 'M')],
  ['chest-screen', 'CT1', 30, 15, 'ROUTINE', 'CT', 'RPID2504', 'CT CHEST LOW DOSE SCREENING', 'Lung cancer screening, 62 y current smoker, 40 pack-years', P('MRN40102', 'Lindqvist^Anna', '19640701', 'F')],
  ['ctpa', 'CT1', 60, 20, 'HIGH', 'CT', 'RPID145', 'CTA CHEST PE PROTOCOL', 'Pleuritic chest pain and tachycardia, D-dimer elevated; rule out pulmonary embolism', P('MRN40230', 'Moreau^Julien', '19790923', 'M')],
  ['abd-colic', 'CT1', 90, 15, 'ROUTINE', 'CT', 'RPID200', 'CT ABDOMEN PELVIS WO CONTRAST', 'Right flank pain radiating to groin, hematuria; suspected renal colic', P('MRN40388', 'Haddad^Samir', '19850114', 'M')],
  ['chest-staging', 'CT1', 135, 20, 'ROUTINE', 'CT', 'RPID2500', 'CT CHEST W CONTRAST', 'Staging of newly diagnosed non-small cell lung cancer, right upper lobe mass', P('MRN40411', 'Novak^Petra', '19570530', 'F')],
  ['head-trauma', 'CT2', 15, 15, 'STAT', 'CT', 'RPID16', 'CT HEAD WO CONTRAST', 'Fall from ladder with loss of consciousness, on anticoagulation', P('MRN40522', 'Brennan^Patrick', '19410208', 'M')],
  ['cta-neck', 'CT2', 60, 20, 'HIGH', 'CT', 'RPID22', 'CTA HEAD AND NECK', 'Acute stroke symptoms, NIHSS 14, evaluate for large vessel occlusion', P('MRN40613', 'Sato^Hiroko', '19520917', 'F')],
  ['abd-contrast', 'CT2', 120, 15, 'ROUTINE', 'CT', 'RPID144', 'CT ABDOMEN PELVIS W CONTRAST', 'Left lower quadrant pain and fever, suspected diverticulitis', P('MRN40777', 'Garcia^Lucia', '19700403', 'F')],
  ['mr-brain', 'MR1', 30, 40, 'ROUTINE', 'MR', 'RPID1597', 'MR BRAIN WO AND W CONTRAST', 'Follow-up of known meningioma, new headaches', P('MRN40850', 'Schmidt^Karl', '19660219', 'M')],
  ['mr-spine', 'MR1', 90, 30, 'MEDIUM', 'MR', 'RPID1602', 'MR LUMBAR SPINE WO CONTRAST', 'Low back pain with left L5 radiculopathy for 8 weeks despite physiotherapy', P('MRN40901', 'Ivanova^Olga', '19810611', 'F')],
  ['mr-knee', 'MR1', 150, 30, 'LOW', 'MR', 'RPID1580', 'MR KNEE RIGHT WO CONTRAST', 'Twisting injury, locking and medial joint line tenderness; meniscal tear?', P('MRN40955', 'Dubois^Emma', '19990827', 'F')],
];

// Days between booking and appointment (booking-time feature of the no-show model): the
// emergencies are booked the same day, the outpatients weeks ahead.
const LEAD_DAYS = { 'chest-screen': 42, 'abd-colic': 1, 'chest-staging': 14, 'abd-contrast': 3, 'mr-brain': 60, 'mr-spine': 28, 'mr-knee': 35 };

/** The orders to POST, keyed by `key` (placer numbers and accessions made unique by `tag`). */
export function examOrders(tag, t0) {
  return ROWS.map(([key, station, offset, minutes, priority, modality, code, procedure, reason, patient], i) => ({
    key,
    body: {
      placer_order_number: `PL${tag}${String(i + 1).padStart(3, '0')}`,
      accession_number: `ACC${tag}${String(i + 1).padStart(3, '0')}`,
      ...patient,
      procedure_code: code, procedure_scheme: 'RADLEX', procedure_text: procedure,
      modality, priority, reason,
      referring_physician: i % 2 ? 'Adeyemi^Folake^^Dr' : 'Whitfield^James^^Dr',
      station_ae: station,
      station_name: { CT1: 'CT Room 1 (Somatom Force)', CT2: 'CT Room 2 (ED)', MR1: 'MR 1.5T' }[station],
      scheduled_at: t0 + offset * 60_000, duration_minutes: minutes,
      booked_at: t0 + offset * 60_000 - (LEAD_DAYS[key] ?? 0) * 86_400_000 - 2 * 3600_000,
    },
  }));
}
