import { describe, expect, it } from 'vitest';
import { prettyXml } from './xml';

describe('prettyXml', () => {
  it('indents nested elements and keeps attributes and text', () => {
    const xml = '<?xml version="1.0" encoding="UTF-8"?><AuditMessage><EventIdentification EventActionCode="R" ' +
      'EventOutcomeIndicator="0"><EventID csd-code="110110" codeSystemName="DCM" originalText="Patient Record"/>' +
      '</EventIdentification><ParticipantObjectName>Doe^Jane &amp; co</ParticipantObjectName></AuditMessage>';
    expect(prettyXml(xml)).toBe([
      '<?xml version="1.0" encoding="UTF-8"?>',
      '<AuditMessage>',
      '  <EventIdentification EventActionCode="R" EventOutcomeIndicator="0">',
      '    <EventID csd-code="110110" codeSystemName="DCM" originalText="Patient Record"/>',
      '  </EventIdentification>',
      '  <ParticipantObjectName>Doe^Jane &amp; co</ParticipantObjectName>',
      '</AuditMessage>',
    ].join('\n'));
  });

  it('keeps comments', () => {
    expect(prettyXml('<!-- seq 7 --><a><!-- x --><b>1</b></a>')).toBe('<!-- seq 7 -->\n<a>\n  <!-- x -->\n  <b>1</b>\n</a>');
  });

  it('returns text that is not XML unchanged', () => {
    expect(prettyXml('<a><b></a>')).toBe('<a><b></a>');
  });
});
