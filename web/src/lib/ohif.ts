// Which OHIF viewer URL the reading view opens.

/** OHIF 3.13's built-in two-study protocol (extension default, hangingprotocols/hpCompare). */
export const COMPARE_PROTOCOL = '@ohif/hpCompare';
export const OHIF_BASE = '/ohif/viewer';
/** OHIF's microscopy mode (dicom-microscopy-viewer), for slides: ModalitiesInStudy SM. */
export const OHIF_MICROSCOPY = '/ohif/microscopy';

/** Whether a study's modalities ("SM", "SM\\SEG", ["SM"]) make it a slide study. */
export function isSlideStudy(modalities: string | string[] | null | undefined): boolean {
  const list = Array.isArray(modalities) ? modalities : (modalities || '').split(/[\\,\s]+/);
  return list.includes('SM');
}

/**
 * A slide study (SM) in the microscopy mode; otherwise the current study alone, or side by
 * side with its most relevant prior (the first one /priors lists) through the compare
 * protocol. OHIF reads the query keys case-insensitively.
 */
export function ohifViewerUrl(current: string, priors: { study_uid: string }[] | null | undefined,
                              modalities?: string | string[] | null): string {
  // A slide opens in the microscopy mode, alone: the mode has no two-study protocol. The UID
  // is encoded as src/api/ohif.cpp encodes it (a UID has only digits and dots, but the value
  // comes from the server and goes into a URL).
  if (isSlideStudy(modalities)) return `${OHIF_MICROSCOPY}?StudyInstanceUIDs=${encodeURIComponent(current)}`;
  const prior = (priors ?? []).find((p) => p.study_uid && p.study_uid !== current);
  const params = new URLSearchParams();
  params.set('StudyInstanceUIDs', prior ? `${current},${prior.study_uid}` : current);
  if (prior) params.set('hangingProtocolId', COMPARE_PROTOCOL);
  // OHIF splits StudyInstanceUIDs on commas; keep them (and the @ of the id) readable.
  return `${OHIF_BASE}?${params.toString().replace(/%2C/gi, ',').replace(/%40/g, '@').replace(/%2F/gi, '/')}`;
}
