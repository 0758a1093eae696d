/** The store's history: commits, what one changed (a diff), and undoing it. */
import { api, segments } from '../api.js';
import { append, errorText, field, formatDateTime, h, notice, replace } from '../dom.js';
import { href, type Page, type PageContext } from '../page.js';

interface Commit {
  commit: string;
  parents: string[];
  author: string;
  date: string;
  message: string;
}

interface Change {
  path: string;
  kind: 'added' | 'removed' | 'modified';
  lines: { op: '+' | '-' | ' '; text: string }[] | null;
  note: string | null;
}

async function commitList(view: HTMLElement, context: PageContext): Promise<void> {
  const path = context.query.get('path') ?? '';
  const filter = h('input', { name: 'path', value: path, placeholder: 'e.g. contacts', autocapitalize: 'none' });
  const form = h('form', { class: 'toolbar', role: 'search' }, field('Only changes below', filter), h('button', { type: 'submit' }, 'Show'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    context.go('history', [], filter.value === '' ? {} : { path: filter.value });
  });
  const { commits } = await api<{ commits: Commit[] }>('GET', `history?${new URLSearchParams({ path, limit: '100' })}`);
  view.append(
    h('h1', {}, 'History'),
    form,
    commits.length === 0
      ? h('p', {}, 'No changes yet.')
      : h(
          'ol',
          { class: 'commits' },
          commits.map((c) => h('li', {}, h('a', { href: href('history', [c.commit]) }, c.message.split('\n')[0]), h('span', { class: 'muted' }, ` — ${c.author}, ${formatDateTime(c.date)} · `, h('code', {}, c.commit.slice(0, 12))))),
        ),
  );
}

function changeView(change: Change): HTMLElement {
  return h(
    'section',
    { class: 'change' },
    h('h3', {}, h('span', { class: `kind ${change.kind}` }, change.kind), ' ', change.path),
    change.lines === null
      ? h('p', { class: 'muted' }, change.note ?? '')
      : h(
          'pre',
          { class: 'diff', 'aria-label': `Changes to ${change.path}` },
          change.lines.map((line) => h('span', { class: line.op === '+' ? 'add' : line.op === '-' ? 'del' : 'same' }, `${line.op} ${line.text}\n`)),
        ),
  );
}

async function commitDetail(view: HTMLElement, context: PageContext, id: string): Promise<void> {
  const detail = await api<Commit & { changes: Change[]; truncated: boolean }>('GET', `history/${segments(id)}`);
  const status = h('div', { 'aria-live': 'polite' }, context.query.get('reverted') === null ? null : notice('Reverted. This is the new commit that undid it.', 'ok'));
  const revert = h('button', { type: 'button', class: 'primary' }, 'Revert this change');
  revert.addEventListener('click', async () => {
    revert.disabled = true;
    try {
      const { commit } = await api<{ commit: string }>('POST', `history/${segments(id)}/revert`);
      context.go('history', [commit], { reverted: '1' });
    } catch (err) {
      replace(status, notice(errorText(err)));
      revert.disabled = false;
    }
  });
  append(view, [
    h('p', {}, h('a', { href: href('history') }, '← All changes')),
    h('h1', {}, detail.message.split('\n')[0]),
    status,
    h('p', { class: 'muted' }, `${detail.author}, ${formatDateTime(detail.date)} · `, h('code', {}, detail.commit)),
    detail.message.includes('\n') && h('pre', { class: 'message' }, detail.message),
    detail.changes.length > 0 && h('div', { class: 'toolbar' }, revert),
    detail.changes.map(changeView),
    detail.truncated && h('p', { class: 'muted' }, 'More changes are not shown.'),
  ]);
}

export const historyPage: Page = {
  name: 'history',
  title: 'History',
  render(view, context) {
    const [commit] = context.path;
    return commit === undefined ? commitList(view, context) : commitDetail(view, context, commit);
  },
};
