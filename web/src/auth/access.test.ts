import { describe, expect, it } from 'vitest';
import { homeFor } from './access';

describe('homeFor', () => {
  it('starts each role on its own page', () => {
    expect(homeFor('radiologist')).toBe('/worklist');
    expect(homeFor('administrator')).toBe('/worklist');
    expect(homeFor('technologist')).toBe('/exams');
    expect(homeFor('referring')).toBe('/orders');
  });
});
