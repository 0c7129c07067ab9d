// The week of a small imaging department that tests/browser/scheduling.test.mjs books through
// the REST (POST /api/v1/orders): three scanners with their own opening hours, slots of the
// modality's length filled to a realistic share, requested procedures in RIS wording, a pool
// of patients of every age, and a handful of "unreliable" patients who missed earlier
// appointments and whose next one was booked weeks ahead (what the no-show model flags).
// Deterministic: a seeded generator, so that every run books the same week relative to `start`.

/** mulberry32: a small seeded PRNG (public domain), floats in [0, 1). */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The scanners: hours as given to --station-hours (days: when not every day), slot length, share of slots booked. */
export const STATIONS = [
  { station_ae: 'CT1', name: 'CT Room 1 (Somatom Force)', open: '07:00', close: '19:00', modality: 'CT', slot: 20, fill: 0.62 },
  { station_ae: 'CT2', name: 'CT Room 2 (ED)', open: '08:00', close: '18:00', modality: 'CT', slot: 20, fill: 0.5 },
  { station_ae: 'MR1', name: 'MR 1.5T', open: '08:00', close: '20:00', modality: 'MR', slot: 45, fill: 0.72,
    days: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri'] },
];

const PROCEDURES = {
  CT: [
    ['RPID16', 'CT HEAD WO CONTRAST', 'Headache and dizziness for two weeks'],
    ['RPID2504', 'CT CHEST LOW DOSE SCREENING', 'Lung cancer screening, current smoker, 35 pack-years'],
    ['RPID2500', 'CT CHEST W CONTRAST', 'Follow-up of treated lymphoma'],
    ['RPID144', 'CT ABDOMEN PELVIS W CONTRAST', 'Right lower quadrant pain, suspected appendicitis'],
    ['RPID200', 'CT ABDOMEN PELVIS WO CONTRAST', 'Flank pain and hematuria, suspected renal colic'],
    ['RPID145', 'CTA CHEST PE PROTOCOL', 'Dyspnea and elevated D-dimer, rule out pulmonary embolism'],
  ],
  MR: [
    ['RPID1597', 'MR BRAIN WO AND W CONTRAST', 'Follow-up of known meningioma'],
    ['RPID1602', 'MR LUMBAR SPINE WO CONTRAST', 'Low back pain with radiculopathy for 8 weeks'],
    ['RPID1580', 'MR KNEE RIGHT WO CONTRAST', 'Twisting injury, suspected meniscal tear'],
    ['RPID1610', 'MR SHOULDER LEFT WO CONTRAST', 'Shoulder pain, suspected rotator cuff tear'],
  ],
};

const FAMILY = ['Okafor', 'Lindqvist', 'Moreau', 'Haddad', 'Novak', 'Brennan', 'Sato', 'Garcia', 'Schmidt', 'Ivanova',
  'Dubois', 'Rossi', 'Kowalski', 'Nguyen', 'Silva', 'Jensen', 'Murphy', 'Kaya', 'Tanaka', 'Costa', 'Fischer', 'Larsen',
  'Petrov', 'Mendes', 'Olsen', 'Horvat', 'Yilmaz', 'Bakker', 'Dimitrov', 'Santos'];
const GIVEN_F = ['Anna', 'Lucia', 'Petra', 'Hiroko', 'Olga', 'Emma', 'Sofia', 'Maria', 'Ines', 'Laura', 'Mei', 'Zeynep'];
const GIVEN_M = ['Chinedu', 'Julien', 'Samir', 'Patrick', 'Karl', 'Marco', 'Piotr', 'Minh', 'Joao', 'Lars', 'Emre', 'Ivan'];

/** `n` patients: id, DICOM name, birth date, sex; the first `unreliable` are the ones who miss. */
export function patients(n, rand, unreliable = 10) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const sex = rand() < 0.5 ? 'F' : 'M';
    const given = (sex === 'F' ? GIVEN_F : GIVEN_M)[Math.floor(rand() * 12)];
    // the unreliable ones are young adults (the age band with the most no-shows in the data)
    const year = i < unreliable ? 1996 + Math.floor(rand() * 8) : 1940 + Math.floor(rand() * 62);
    out.push({
      patient_id: `MRN${String(51000 + i)}`, patient_name: `${FAMILY[Math.floor(rand() * FAMILY.length)]}^${given}`,
      birth_date: `${year}${String(1 + Math.floor(rand() * 12)).padStart(2, '0')}${String(1 + Math.floor(rand() * 28)).padStart(2, '0')}`,
      sex, unreliable: i < unreliable,
    });
  }
  return out;
}

const hhmm = (s) => Number(s.slice(0, 2)) * 60 + Number(s.slice(3, 5));
const DAY = 86_400_000;
const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
/** Whether station `st` is open on the local day of `ms`. */
export function openOn(st, ms) { return !st.days || st.days.includes(WEEKDAYS[new Date(ms).getDay()]); }

/**
 * The week's appointments: for each of 7 local days from `start` (local midnight) and each
 * scanner, its slots booked with probability `fill`. Returns [{body, key, unreliable}] with
 * booked_at set (routine: 1-21 days before; an unreliable patient's later appointment: 40-70
 * days before). Placer numbers and accessions are made unique by `tag`.
 */
export function weekOrders(tag, start, { seed = 14, now = Date.now() } = {}) {
  const rand = rng(seed);
  const pool = patients(140, rand);
  const unreliable = pool.filter((p) => p.unreliable);
  const others = pool.filter((p) => !p.unreliable);
  const out = [];
  let n = 0;
  // each unreliable patient: one appointment in the past days of the week and one still to come
  const plan = new Map();  // "station|day|slot" -> patient
  unreliable.forEach((p, i) => {
    const st = STATIONS[i % STATIONS.length];
    plan.set(`${st.station_ae}|${i % 3}|${2 + (i % 5)}`, p);          // days 0-2: before today
    plan.set(`${st.station_ae}|${4 + (i % 3)}|${3 + i}`, p);          // days 4-6: after today
  });
  for (let day = 0; day < 7; day++) {
    const d0 = new Date(start);
    const midnight = new Date(d0.getFullYear(), d0.getMonth(), d0.getDate() + day).getTime();
    for (const st of STATIONS) {
      if (!openOn(st, midnight)) continue;
      const slots = Math.floor((hhmm(st.close) - hhmm(st.open)) / st.slot);
      for (let s = 0; s < slots; s++) {
        const planned = plan.get(`${st.station_ae}|${day}|${s}`);
        if (!planned && rand() >= st.fill) continue;
        const p = planned ?? others[Math.floor(rand() * others.length)];
        const [code, text, reason] = PROCEDURES[st.modality][Math.floor(rand() * PROCEDURES[st.modality].length)];
        const scheduled = midnight + (hhmm(st.open) + s * st.slot) * 60_000;
        const lead = planned && scheduled > now ? (40 + Math.floor(rand() * 30)) * DAY : (1 + Math.floor(rand() * 21)) * DAY;
        n += 1;
        const id = `${tag}${String(n).padStart(4, '0')}`;
        out.push({
          key: id, unreliable: Boolean(planned), patient: p,
          body: {
            placer_order_number: `PLS${id}`, accession_number: `ACS${id}`,
            patient_id: p.patient_id, patient_name: p.patient_name, birth_date: p.birth_date, sex: p.sex,
            procedure_code: code, procedure_scheme: 'RADLEX', procedure_text: text, modality: st.modality,
            priority: rand() < 0.08 ? 'HIGH' : 'ROUTINE', reason,
            referring_physician: rand() < 0.5 ? 'Adeyemi^Folake^^Dr' : 'Whitfield^James^^Dr',
            station_ae: st.station_ae, station_name: st.name,
            scheduled_at: scheduled, duration_minutes: st.slot,
            booked_at: Math.min(now - 3_600_000, scheduled - lead),
          },
        });
      }
    }
  }
  return out;
}

/** Earlier missed appointments of the unreliable patients (30 and 15 days before `start`). */
export function priorMisses(tag, start) {
  const pool = patients(140, rng(14));
  return pool.filter((p) => p.unreliable).flatMap((p, i) => [30, 15].map((back, j) => ({
    key: `${tag}P${i}${j}`,
    body: {
      placer_order_number: `PLP${tag}${i}${j}`, accession_number: `ACP${tag}${i}${j}`,
      patient_id: p.patient_id, patient_name: p.patient_name, birth_date: p.birth_date, sex: p.sex,
      procedure_code: 'RPID16', procedure_scheme: 'RADLEX', procedure_text: 'CT HEAD WO CONTRAST', modality: 'CT',
      priority: 'ROUTINE', reason: 'Headache', station_ae: 'CT1', station_name: STATIONS[0].name,
      scheduled_at: start - back * DAY + 10 * 3_600_000, duration_minutes: 20,
      booked_at: start - (back + 10) * DAY,
    },
  })));
}
