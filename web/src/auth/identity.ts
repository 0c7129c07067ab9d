// The signed-in user for the pages that hide what the role may not do (the server refuses
// it anyway). Without a provider (a page rendered alone) every action is shown.
import { createContext, useContext } from 'react';
import type { Identity } from '../api/security';

export const IdentityContext = createContext<Identity | null>(null);

export function useIdentity(): Identity | null {
  return useContext(IdentityContext);
}

/** Whether the signed-in user may change the system's configuration (apps, users). */
export function useIsAdministrator(): boolean {
  const id = useIdentity();
  return id === null || id.role === 'administrator';
}

/** Whether the signed-in user reads and reports (claims, reports, closes follow-ups). */
export function useCanRead(): boolean {
  const id = useIdentity();
  return id === null || id.role === 'administrator' || id.role === 'radiologist';
}
