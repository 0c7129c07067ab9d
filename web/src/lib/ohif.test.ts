import { describe, expect, it } from 'vitest';
import { isSlideStudy, ohifViewerUrl } from './ohif';

describe('ohifViewerUrl', () => {
  it('opens the current study alone without a prior', () => {
    expect(ohifViewerUrl('1.2.3', [])).toBe('/ohif/viewer?StudyInstanceUIDs=1.2.3');
    expect(ohifViewerUrl('1.2.3', null)).toBe('/ohif/viewer?StudyInstanceUIDs=1.2.3');
  });
  it('compares with the first (most relevant) prior', () => {
    const url = ohifViewerUrl('1.2.3', [{ study_uid: '9.8.7' }, { study_uid: '5.5.5' }]);
    expect(url).toBe('/ohif/viewer?StudyInstanceUIDs=1.2.3,9.8.7&hangingProtocolId=@ohif/hpCompare');
    const q = new URL(url, 'http://x').searchParams;
    expect(q.get('StudyInstanceUIDs')?.split(',')).toEqual(['1.2.3', '9.8.7']);
    expect(q.get('hangingProtocolId')).toBe('@ohif/hpCompare');
  });
  it('opens a slide study in the microscopy mode, without a prior', () => {
    expect(ohifViewerUrl('1.2.3', [{ study_uid: '9.8.7' }], 'SM')).toBe('/ohif/microscopy?StudyInstanceUIDs=1.2.3');
    expect(ohifViewerUrl('1.2.3', [], 'SM\\SEG')).toBe('/ohif/microscopy?StudyInstanceUIDs=1.2.3');
    expect(ohifViewerUrl('1.2.3', [], 'OP')).toBe('/ohif/viewer?StudyInstanceUIDs=1.2.3');
    expect(isSlideStudy(['CT', 'SM'])).toBe(true);
    expect(isSlideStudy('SMR')).toBe(false);
    // Encoded like src/api/ohif.cpp's links: nothing else can ride along in the query.
    expect(ohifViewerUrl('1.2&x=<y>', [], 'SM')).toBe('/ohif/microscopy?StudyInstanceUIDs=1.2%26x%3D%3Cy%3E');
  });
  it('never compares a study with itself', () => {
    expect(ohifViewerUrl('1.2.3', [{ study_uid: '1.2.3' }])).toBe('/ohif/viewer?StudyInstanceUIDs=1.2.3');
  });
});
