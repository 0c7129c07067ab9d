import { useEffect, useState } from 'react';
import { getReader, onReaderChange } from '../lib/reader';

export function useReader(): string {
  const [reader, setReaderState] = useState(getReader);
  useEffect(() => onReaderChange(setReaderState), []);
  return reader;
}
