// Which OHIF viewer URL the reading view opens.

/** OHIF 3.13's built-in two-study protocol (extension default, hangingprotocols/hpCompare). */
export const COMPARE_PROTOCOL = '@ohif/hpCompare';
export const OHIF_BASE = '/ohif/viewer';

/**
 * The current study alone, or side by side with its most relevant prior (the first one
 * /priors lists) through the compare protocol. OHIF reads the query keys case-insensitively.
 */
export function ohifViewerUrl(current: string, priors: { study_uid: string }[] | null | undefined): string {
  const prior = (priors ?? []).find((p) => p.study_uid && p.study_uid !== current);
  const params = new URLSearchParams();
  params.set('StudyInstanceUIDs', prior ? `${current},${prior.study_uid}` : current);
  if (prior) params.set('hangingProtocolId', COMPARE_PROTOCOL);
  // OHIF splits StudyInstanceUIDs on commas; keep them (and the @ of the id) readable.
  return `${OHIF_BASE}?${params.toString().replace(/%2C/gi, ',').replace(/%40/g, '@').replace(/%2F/gi, '/')}`;
}
