// Indents an XML document for reading (the audit drawer shows DICOM audit messages, PS3.15
// A.5, which radflow stores on one line). Text is kept as it is; a document that does not
// parse is returned unchanged, so nothing is ever hidden by the formatting.
export function prettyXml(xml: string, indent = '  '): string {
  const doc = new DOMParser().parseFromString(xml, 'application/xml');
  if (doc.getElementsByTagName('parsererror').length > 0) return xml;
  const out: string[] = [];
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const attr = (s: string) => esc(s).replace(/"/g, '&quot;');
  const walk = (node: Element, depth: number) => {
    const pad = indent.repeat(depth);
    const attrs = Array.from(node.attributes).map((a) => ` ${a.name}="${attr(a.value)}"`).join('');
    const children = Array.from(node.childNodes).filter(
      (c) => c.nodeType === Node.ELEMENT_NODE || c.nodeType === Node.COMMENT_NODE ||
        (c.nodeType === Node.TEXT_NODE && (c.textContent ?? '').trim() !== ''),
    );
    if (children.length === 0) {
      out.push(`${pad}<${node.tagName}${attrs}/>`);
    } else if (children.every((c) => c.nodeType === Node.TEXT_NODE)) {
      out.push(`${pad}<${node.tagName}${attrs}>${esc(children.map((c) => c.textContent ?? '').join(''))}</${node.tagName}>`);
    } else {
      out.push(`${pad}<${node.tagName}${attrs}>`);
      for (const c of children) {
        if (c.nodeType === Node.ELEMENT_NODE) walk(c as Element, depth + 1);
        else if (c.nodeType === Node.COMMENT_NODE) out.push(`${indent.repeat(depth + 1)}<!--${c.textContent ?? ''}-->`);
        else out.push(`${indent.repeat(depth + 1)}${esc((c.textContent ?? '').trim())}`);
      }
      out.push(`${pad}</${node.tagName}>`);
    }
  };
  for (const c of Array.from(doc.childNodes)) {
    if (c.nodeType === Node.COMMENT_NODE) out.push(`<!--${c.textContent ?? ''}-->`);
    else if (c.nodeType === Node.ELEMENT_NODE) walk(c as Element, 0);
  }
  const decl = xml.trimStart().startsWith('<?xml') ? xml.trimStart().slice(0, xml.trimStart().indexOf('?>') + 2) + '\n' : '';
  return decl + out.join('\n');
}
