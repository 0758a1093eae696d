/**
 * The web UI's shell: sign-in, the navigation, and a hash router (`#/<page>/<path…>?<query>`)
 * that draws one page at a time into <main>. Pages live in pages/, one file each.
 */
import './style.css';
import { api, ApiError, setSession } from './api.js';
import { errorText, field, formValues, h, notice, replace } from './dom.js';
import { href, type Page, type PageContext } from './page.js';
import { calendarPage } from './pages/calendar.js';
import { contactsPage } from './pages/contacts.js';
import { dashboardPage } from './pages/dashboard.js';
import { devicesPage } from './pages/devices.js';
import { historyPage } from './pages/history.js';
import { mailPage } from './pages/mail.js';
import { usersPage } from './pages/users.js';

const PAGES: readonly Page[] = [dashboardPage, mailPage, contactsPage, calendarPage, historyPage, devicesPage, usersPage];

interface SessionInfo {
  user: string;
  owner: boolean;
  csrf: string;
}

const app = document.getElementById('app')!;
let session: SessionInfo | undefined;
/** Whether a page was drawn before: focus moves to new content only on later moves, so the skip link stays first. */
let navigated = false;

async function start(): Promise<void> {
  try {
    session = await api<SessionInfo>('GET', 'session');
    setSession(session.csrf, signedOut);
    showShell();
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) showLogin();
    else replace(app, h('main', { id: 'main' }, notice(errorText(err))));
  }
}

function signedOut(): void {
  session = undefined;
  showLogin('Your session has ended. Please sign in again.');
}

function showLogin(message?: string): void {
  document.title = 'Sign in · Nymote';
  const status = h('div', { 'aria-live': 'polite' }, message === undefined ? null : notice(message));
  const user = h('input', { name: 'user', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false' });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const form = h(
    'form',
    { class: 'card login', 'aria-labelledby': 'login-title' },
    h('h1', { id: 'login-title' }, 'Sign in to Nymote'),
    status,
    field('User name', user),
    field('Password', password),
    h('button', { type: 'submit', class: 'primary' }, 'Sign in'),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const button = form.querySelector('button')!;
    button.disabled = true;
    try {
      session = await api<SessionInfo>('POST', 'session', formValues(form));
      setSession(session.csrf, signedOut);
      showShell();
    } catch (err) {
      replace(status, notice(errorText(err)));
      password.value = '';
      password.focus();
    } finally {
      button.disabled = false;
    }
  });
  replace(app, h('main', { id: 'main', class: 'center', tabindex: '-1' }, form));
  user.focus();
}

function showShell(): void {
  const nav = h(
    'nav',
    { 'aria-label': 'Main' },
    h('ul', {}, visiblePages().map((page) => h('li', {}, h('a', { href: href(page.name), 'data-page': page.name }, page.title)))),
  );
  const signOut = h('button', { type: 'button', class: 'link' }, 'Sign out');
  signOut.addEventListener('click', async () => {
    await api('DELETE', 'session').catch(() => undefined);
    session = undefined;
    location.hash = '';
    showLogin('Signed out.');
  });
  const header = h('header', { class: 'top' }, h('a', { class: 'brand', href: href('dashboard') }, 'Nymote'), nav, h('span', { class: 'who' }, session!.user, ' ', signOut));
  replace(app, header, h('main', { id: 'main', tabindex: '-1' }));
  void route();
}

function visiblePages(): Page[] {
  return PAGES.filter((page) => page.ownerOnly !== true || session?.owner === true);
}

/** Draws the page the hash names. */
async function route(): Promise<void> {
  if (session === undefined) return;
  const main = document.getElementById('main')!;
  const [pathPart, queryPart] = location.hash.replace(/^#\/?/, '').split('?', 2) as [string, string | undefined];
  const [name = '', ...path] = pathPart.split('/').filter((s) => s !== '').map(decodeURIComponent);
  const page = visiblePages().find((p) => p.name === name) ?? dashboardPage;
  for (const link of document.querySelectorAll('nav a')) {
    if (link.getAttribute('data-page') === page.name) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  document.title = `${page.title} · Nymote`;
  const view = h('div', { class: 'page' });
  replace(main, view);
  const context: PageContext = {
    user: session.user,
    owner: session.owner,
    path,
    query: new URLSearchParams(queryPart ?? ''),
    go: (to, toPath, query) => {
      location.hash = href(to, toPath, query);
    },
  };
  try {
    await page.render(view, context);
  } catch (err) {
    if (err instanceof ApiError && err.code === 'ESESSION') return;
    view.append(notice(errorText(err)));
  }
  // Focus moves to the new content for keyboard and screen-reader users (not on first load).
  if (navigated && (document.activeElement === document.body || document.activeElement?.closest('nav') !== null)) main.focus({ preventScroll: true });
  navigated = true;
}

window.addEventListener('hashchange', () => void route());
void start();
