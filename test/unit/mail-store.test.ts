import { execFileSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MailError, MailStore, InvalidMailboxName, canonicalName } from '../../firmware/apps/mail/store/index.js';
import { registerMailMergeTypes } from '../../firmware/apps/mail/store/index.js';
import { Store, defaultMergeTypes } from '../../firmware/store/index.js';
import { rejects } from '../_lib/assert.js';
import { tempDir } from '../_lib/tmp.js';

const message = (subject: string) => Buffer.from(`From: a@example.org\r\nSubject: ${subject}\r\n\r\nbody of ${subject}\r\n`);

function open(now = () => 1_700_000_000_000) {
  const dir = tempDir();
  const store = Store.open(`${dir}/alice.git`, { durability: 'none' });
  return { dir, store, mail: new MailStore(store, now) };
}

function gitLog(gitDir: string): string[] {
  return execFileSync('git', ['--git-dir', gitDir, 'log', '--format=%s', 'main'], { encoding: 'utf8' }).trim().split('\n');
}

test('names: INBOX in any case, trailing delimiter, refused names', () => {
  assert.is(canonicalName('inbox'), 'INBOX');
  assert.is(canonicalName('Inbox/Work/'), 'INBOX/Work');
  assert.is(canonicalName('Archive/2024'), 'Archive/2024');
  for (const bad of ['', 'a//b', '.hidden', 'a/..', '12.eml', 'a\r\nb', 'a*b', 'x/%']) {
    assert.throws(() => canonicalName(bad), (err: unknown) => err instanceof InvalidMailboxName, bad);
  }
});

test('default mailboxes with special use; list shows hierarchy', async () => {
  const { mail } = open();
  await mail.ensureDefaults();
  await mail.ensureDefaults(); // a second time changes nothing
  await mail.create('Work/Projects');
  const list = mail.list();
  assert.equal(
    list.map((e) => [e.name, e.specialUse ?? '', e.hasChildren]),
    [['Archive', '\\Archive', false], ['Drafts', '\\Drafts', false], ['INBOX', '', false], ['Junk', '\\Junk', false], ['Sent', '\\Sent', false], ['Trash', '\\Trash', false], ['Work', '', true], ['Work/Projects', '', false]],
  );
  await rejects(() => mail.create('Work/Projects/'), (err: unknown) => err instanceof MailError && err.code === 'ALREADYEXISTS');
});

test('append, flags with modseq, expunge: one commit each, state diffable in git', async () => {
  const { dir, store, mail } = open();
  await mail.ensureDefaults();
  const { uids, uidvalidity } = await mail.append('INBOX', [{ raw: message('one'), flags: ['\\seen'] }, { raw: message('two') }]);
  assert.equal(uids, [1, 2]);
  let box = mail.snapshot('inbox')!;
  assert.is(box.state.uidvalidity, uidvalidity);
  assert.is(box.state.uidnext, 3);
  assert.equal(box.state.messages.map((m) => m.flags), [['\\Seen'], []]);
  assert.equal(mail.message(box.commit, 'INBOX', 2)!.raw, message('two'));
  const before = box.state.highestModseq;

  const { changed } = await mail.storeFlags('INBOX', [1, 2, 99], 'add', ['\\Deleted', '$Work']);
  assert.equal(changed.map((m) => [m.uid, m.flags]), [[1, ['$Work', '\\Deleted', '\\Seen']], [2, ['$Work', '\\Deleted']]]);
  assert.ok(changed.every((m) => m.modseq === before + 1), 'one new modseq for the batch');
  // CONDSTORE: a message changed after UNCHANGEDSINCE is reported, not changed.
  const cond = await mail.storeFlags('INBOX', [1], 'remove', ['\\Deleted'], before);
  assert.equal(cond.modified, [1]);
  assert.equal(cond.changed, []);

  assert.equal(await mail.expunge('INBOX', [2]), [2]);
  box = mail.snapshot('INBOX')!;
  assert.equal(box.state.messages.map((m) => m.uid), [1]);
  assert.equal(box.state.expunged.map((e) => e.uid), [2]);
  assert.is(mail.message(box.commit, 'INBOX', 2), undefined);

  const log = gitLog(`${dir}/alice.git`);
  // The refused conditional STORE changed nothing, so it made no commit.
  assert.equal(log.slice(0, 3), ['mail: expunge INBOX', 'mail: flags of 3 in INBOX', 'mail: append 2 to INBOX']);
  const show = execFileSync('git', ['--git-dir', `${dir}/alice.git`, 'show', 'main:mail/INBOX/.mailbox.json'], { encoding: 'utf8' });
  assert.match(show, /^\[1,\d+,1700000000000,\d+,\["\$Work","\\\\Deleted","\\\\Seen"\]\]$/m);
  await store.close();
});

test('operations asked for together are one commit; a refused one does not spoil the others', async () => {
  const { dir, mail } = open();
  await mail.ensureDefaults();
  const appends = Array.from({ length: 10 }, (_, i) => mail.append('INBOX', [{ raw: message(`m${i}`) }]));
  const refused = mail.append('Nowhere', [{ raw: message('lost') }]).then(() => undefined, (err: unknown) => err);
  const results = await Promise.all(appends);
  const err = await refused;
  assert.ok(err instanceof MailError && err.code === 'TRYCREATE');
  assert.equal(results.map((r) => r.uids[0]).sort((a, b) => a - b), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.is(gitLog(`${dir}/alice.git`).length, 2, 'defaults, then one commit for the ten appends');
  assert.is(mail.snapshot('INBOX')!.state.messages.length, 10);
});

test('copy and move keep flags and dates; UIDs ascend in the target; TRYCREATE for a missing one', async () => {
  const { mail } = open();
  await mail.ensureDefaults();
  await mail.append('INBOX', [{ raw: message('a'), flags: ['\\Flagged'], internalDate: 1000 }, { raw: message('b') }]);
  const copied = await mail.copy('INBOX', [1, 5], 'Archive');
  assert.equal(copied.pairs, [[1, 1]]);
  const moved = await mail.copy('INBOX', [1, 2], 'Archive', true);
  assert.equal(moved.pairs, [[1, 2], [2, 3]]);
  const archive = mail.snapshot('Archive')!;
  assert.equal(archive.state.messages.map((m) => [m.uid, m.flags, m.internalDate]), [[1, ['\\Flagged'], 1000], [2, ['\\Flagged'], 1000], [3, [], 1_700_000_000_000]]);
  assert.equal(mail.snapshot('INBOX')!.state.messages, []);
  await rejects(() => mail.copy('INBOX', [1], 'Missing'), (err: unknown) => err instanceof MailError && err.code === 'TRYCREATE');
});

test('rename moves children; renaming INBOX moves its messages; a recreated mailbox has a new UIDVALIDITY', async () => {
  const { mail } = open();
  await mail.ensureDefaults();
  await mail.create('Work/Old');
  await mail.append('Work/Old', [{ raw: message('w') }]);
  const validity = mail.snapshot('Work')!.state.uidvalidity;
  await mail.rename('Work', 'Projects');
  assert.equal(mail.list().filter((e) => e.name.startsWith('Projects')).map((e) => e.name), ['Projects', 'Projects/Old']);
  assert.is(mail.snapshot('Projects/Old')!.state.messages.length, 1);
  await mail.create('Work');
  assert.ok(mail.snapshot('Work')!.state.uidvalidity > validity);
  await rejects(() => mail.rename('Projects', 'Projects/Inner'), (err: unknown) => err instanceof MailError && err.code === 'CANNOT');

  await mail.append('INBOX', [{ raw: message('i') }]);
  await mail.rename('INBOX', 'Old Inbox');
  assert.is(mail.snapshot('INBOX')!.state.messages.length, 0);
  assert.is(mail.snapshot('Old Inbox')!.state.messages.length, 1);
  await rejects(() => mail.delete('INBOX'), (err: unknown) => err instanceof MailError && err.code === 'CANNOT');
  await mail.delete('Projects');
  assert.equal(mail.list().filter((e) => e.name.startsWith('Projects')).map((e) => [e.name, e.selectable]), [['Projects', false], ['Projects/Old', true]]);
});

test('subscriptions and watch', async () => {
  const { mail } = open();
  await mail.ensureDefaults();
  await mail.subscribe('inbox', true);
  await mail.subscribe('Sent', true);
  await mail.subscribe('Sent', false);
  assert.equal(mail.subscriptions(), ['INBOX']);
  const seen: string[] = [];
  const stop = mail.watch('INBOX', (commit) => seen.push(commit));
  await mail.append('Sent', [{ raw: message('s') }]);
  await mail.append('INBOX', [{ raw: message('i') }]);
  stop();
  await mail.append('INBOX', [{ raw: message('j') }]);
  assert.is(seen.length, 1);
});

test('history and restore: lost messages come back with their flags, later ones stay, nothing twice', async () => {
  const { mail } = open();
  await mail.ensureDefaults();
  await mail.append('INBOX', [{ raw: message('keep'), flags: ['\\Seen'] }, { raw: message('lost'), flags: ['\\Flagged'] }]);
  const before = mail.branch.head()!;
  await mail.storeFlags('INBOX', [1, 2], 'add', ['\\Deleted']);
  await mail.expunge('INBOX', [2]);
  await mail.append('INBOX', [{ raw: message('new') }]);
  assert.equal(mail.history('INBOX').map((e) => e.message.trim()), ['mail: append 1 to INBOX', 'mail: expunge INBOX', 'mail: flags of 2 in INBOX', 'mail: append 2 to INBOX', 'mail: create the default mailboxes']);
  assert.is(mail.commitAt('INBOX', Date.now() + 1000), mail.branch.head());
  assert.is(mail.commitAt('INBOX', 0), undefined);

  assert.equal(await mail.restore('INBOX', before), [4]);
  const box = mail.snapshot('INBOX')!;
  assert.equal(box.state.messages.map((m) => [m.uid, m.flags]), [[1, ['\\Deleted', '\\Seen']], [3, []], [4, ['\\Flagged']]]);
  assert.equal(mail.message(box.commit, 'INBOX', 4)!.raw, message('lost'));
  assert.equal(await mail.restore('INBOX', before), [], 'a second restore finds nothing missing');
  // A deleted mailbox comes back whole.
  await mail.create('Old');
  await mail.append('Old', [{ raw: message('old') }]);
  const withOld = mail.branch.head()!;
  await mail.delete('Old');
  assert.equal(await mail.restore('Old', withOld), [1]);
  await rejects(() => mail.restore('Never', withOld), (err: unknown) => err instanceof MailError && err.code === 'NONEXISTENT');
});

/** A store with mail's merge types, `main` and a `laptop` branch made from it after `setup`. */
async function twoDevices(setup: (mail: MailStore) => Promise<void>) {
  const registry = defaultMergeTypes();
  registerMailMergeTypes(registry);
  const store = Store.open(`${tempDir()}/alice.git`, { durability: 'none', mergeTypes: registry });
  const main = new MailStore(store, () => 1_700_000_000_000);
  await main.ensureDefaults();
  await setup(main);
  await store.createBranch('laptop', main.branch.head()!);
  return { store, main, laptop: new MailStore(store, () => 1_700_000_000_000, 'laptop') };
}

test('merge: offline changes on two devices keep every message and flag; a UID used on both sides moves', async () => {
  const { store, main, laptop } = await twoDevices(async (mail) => {
    await mail.append('INBOX', [{ raw: message('one'), flags: ['\\Seen'] }, { raw: message('two') }]);
  });
  const baseModseq = main.snapshot('INBOX')!.state.highestModseq;
  // main: a new message (UID 3), \Flagged on 1, 2 expunged.
  await main.append('INBOX', [{ raw: message('on main') }]);
  await main.storeFlags('INBOX', [1], 'add', ['\\Flagged']);
  await main.storeFlags('INBOX', [2], 'add', ['\\Deleted']);
  await main.expunge('INBOX');
  // laptop: another message (also UID 3), \Answered on 1, \Seen removed from 1, a new mailbox.
  await laptop.append('INBOX', [{ raw: message('on laptop') }]);
  await laptop.storeFlags('INBOX', [1], 'add', ['\\Answered']);
  await laptop.storeFlags('INBOX', [1], 'remove', ['\\Seen']);
  await laptop.create('Receipts');
  await laptop.append('Receipts', [{ raw: message('receipt') }]);

  const result = await store.merge('laptop', 'main');
  assert.equal(result.conflicts, []);
  const inbox = main.snapshot('INBOX')!;
  const subjects = inbox.state.messages.map((m) => [m.uid, main.message(inbox.commit, 'INBOX', m.uid)!.raw.toString().match(/Subject: (.*)\r/)![1], m.flags]);
  assert.equal(subjects, [[1, 'one', ['\\Answered', '\\Flagged']], [4, 'on main', []], [5, 'on laptop', []]]);
  assert.is(inbox.state.uidnext, 6);
  assert.equal(inbox.state.expunged.map((e) => e.uid).sort(), [2, 3]);
  assert.ok(inbox.state.messages.every((m) => m.modseq > baseModseq + 3), 'changed records are new to both sides');
  assert.is(main.snapshot('Receipts')!.state.messages.length, 1);
});

test('merge: additions on one side keep their UIDs; a mailbox deleted on one side and changed on the other comes back', async () => {
  const { store, main, laptop } = await twoDevices(async (mail) => {
    await mail.create('Projects');
    await mail.append('Projects', [{ raw: message('plan') }]);
  });
  await main.append('INBOX', [{ raw: message('a') }, { raw: message('b') }]);
  await laptop.storeFlags('INBOX', [], 'add', ['\\Seen']);
  await laptop.append('Projects', [{ raw: message('more') }]);
  await main.delete('Projects');
  const result = await store.merge('laptop', 'main');
  assert.equal(result.conflicts, []);
  assert.equal(main.snapshot('INBOX')!.state.messages.map((m) => m.uid), [1, 2]);
  assert.equal(main.snapshot('Projects')!.state.messages.map((m) => m.uid), [1, 2]);
});

test.run();
