/** Users: everyone changes their own password here; the owner adds and removes users. */
import { api, segments } from '../api.js';
import { errorText, field, formatDateTime, formValues, h, notice, replace } from '../dom.js';
import type { Page, PageContext } from '../page.js';

interface User {
  name: string;
  created: string;
  owner: boolean;
}

function passwordForm(status: HTMLElement): HTMLFormElement {
  const form = h(
    'form',
    { class: 'card', 'aria-labelledby': 'password-title' },
    h('h2', { id: 'password-title' }, 'Change your password'),
    field('Current password', h('input', { name: 'current', type: 'password', autocomplete: 'current-password', required: true })),
    field('New password', h('input', { name: 'password', type: 'password', autocomplete: 'new-password', required: true, minlength: 8 }), 'At least 8 characters. You will be asked to sign in again.'),
    h('button', { type: 'submit', class: 'primary' }, 'Change password'),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      await api('POST', 'password', formValues(form));
      location.reload(); // the session has ended: sign in with the new password
    } catch (err) {
      replace(status, notice(errorText(err)));
    }
  });
  return form;
}

async function ownerSection(view: HTMLElement, status: HTMLElement, context: PageContext): Promise<void> {
  const users = await api<User[]>('GET', 'users');
  const rows = users.map((user) => {
    const remove = user.owner ? h('span', { class: 'muted' }, 'owner') : h('button', { type: 'button' }, `Remove ${user.name}`);
    remove.addEventListener('click', async () => {
      if (!confirm(`Remove user ${user.name}? Their data stays on the device.`)) return;
      try {
        await api('DELETE', `users/${segments(user.name)}`);
        context.go('users');
      } catch (err) {
        replace(status, notice(errorText(err)));
      }
    });
    return h('tr', {}, h('th', { scope: 'row' }, user.name), h('td', {}, formatDateTime(user.created)), h('td', {}, remove));
  });
  const add = h(
    'form',
    { class: 'card', 'aria-labelledby': 'add-title' },
    h('h2', { id: 'add-title' }, 'Add a user'),
    field('New user name', h('input', { name: 'name', required: true, pattern: '[a-z][a-z0-9_\\-]{0,31}', autocapitalize: 'none' }), 'Lower-case letters, digits, _ and -.'),
    field('Their password', h('input', { name: 'password', type: 'password', autocomplete: 'new-password', required: true, minlength: 8 })),
    h('button', { type: 'submit', class: 'primary' }, 'Add user'),
  );
  add.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      await api('POST', 'users', formValues(add));
      context.go('users', [], { added: formValues(add).name ?? '' });
    } catch (err) {
      replace(status, notice(errorText(err)));
    }
  });
  view.append(
    h('table', {}, h('caption', {}, 'Users of this device'), h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'Since'), h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')))), h('tbody', {}, rows)),
    add,
  );
}

export const usersPage: Page = {
  name: 'users',
  title: 'Users',
  async render(view, context) {
    const status = h('div', { 'aria-live': 'polite' });
    const added = context.query.get('added');
    if (added !== null) status.append(notice(`Added ${added}.`, 'ok'));
    view.append(h('h1', {}, 'Users'), status);
    if (context.owner) await ownerSection(view, status, context);
    view.append(passwordForm(status));
  },
};
