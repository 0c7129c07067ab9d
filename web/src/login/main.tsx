// The sign-in bundle (web/login.html), apart from the app: public pages load no app code.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { LoginApp } from './LoginApp';
import '../styles.css';

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <LoginApp pathname={window.location.pathname} search={window.location.search} />
  </StrictMode>,
);
