/**
 * Smarthost settings (checked, password only in the secrets file, 0600) and how its answers
 * are sorted per recipient: sent, temporary, permanent — a refused login is never permanent.
 */
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SMARTHOST_PASSWORD_FILE, SMARTHOST_SETTINGS_FILE, checkSmarthostSettings, describeSmarthost, loadSmarthost, removeSmarthost, saveSmarthost } from '../../firmware/apps/mail/smtp/smarthost-config.js';
import { outcomesOf } from '../../firmware/apps/mail/smtp/smarthost.js';
import { NymoteError } from '../../firmware/runtime/errors.js';
import { tempDir } from '../_lib/tmp.js';

const throwsSettings = (fn: () => unknown, text: RegExp) => {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof NymoteError && err.code === 'ESMARTHOST', String(err));
    assert.match((err as Error).message, text);
    return;
  }
  assert.unreachable('should have thrown');
};

test('save and load: settings as JSON, the password apart and private', () => {
  const dir = tempDir('smarthost');
  const config = path.join(dir, 'config');
  const secrets = path.join(dir, 'secrets');
  assert.is(loadSmarthost(config, secrets), undefined);
  saveSmarthost(config, secrets, { host: 'smtp.example.net', port: 587, security: 'starttls', user: 'me@example.net' }, 'pa55 word');
  assert.equal(loadSmarthost(config, secrets), { host: 'smtp.example.net', port: 587, security: 'starttls', user: 'me@example.net', password: 'pa55 word' });
  const json = fs.readFileSync(path.join(config, SMARTHOST_SETTINGS_FILE), 'utf8');
  assert.not.match(json, /pa55/);
  assert.is(fs.statSync(path.join(secrets, SMARTHOST_PASSWORD_FILE)).mode & 0o777, 0o600);
  assert.is(fs.statSync(secrets).mode & 0o777, 0o700);
  assert.is(describeSmarthost(loadSmarthost(config, secrets)), 'smtp.example.net:587 (starttls, user me@example.net)');

  saveSmarthost(config, secrets, { host: 'smtp.example.net', port: 465, security: 'tls', user: 'me@example.net' });
  assert.is(loadSmarthost(config, secrets)!.password, 'pa55 word', 'the password is kept when not given');
  saveSmarthost(config, secrets, { host: '192.0.2.7', port: 465, security: 'tls' });
  assert.not.ok(fs.existsSync(path.join(secrets, SMARTHOST_PASSWORD_FILE)), 'no user, no password');
  assert.equal(loadSmarthost(config, secrets), { host: '192.0.2.7', port: 465, security: 'tls' });
  removeSmarthost(config, secrets);
  assert.is(loadSmarthost(config, secrets), undefined);
});

test('settings are checked before anything is written', () => {
  const dir = tempDir('smarthost');
  throwsSettings(() => saveSmarthost(dir, dir, { host: 'bad host', port: 25, security: 'tls' }), /host/);
  throwsSettings(() => checkSmarthostSettings({ host: 'a.example', port: 0, security: 'tls' }), /port/);
  throwsSettings(() => checkSmarthostSettings({ host: 'a.example', port: 25, security: 'none' }), /security/);
  throwsSettings(() => checkSmarthostSettings({ host: 'a.example', port: 25, security: 'tls', user: 'a\nb' }), /user/);
  throwsSettings(() => saveSmarthost(dir, dir, { host: 'a.example', port: 587, security: 'starttls', user: 'me' }), /password is needed/);
  throwsSettings(() => saveSmarthost(dir, dir, { host: 'a.example', port: 587, security: 'starttls', user: 'me' }, 'two\nlines'), /one non-empty line/);
  assert.not.ok(fs.existsSync(path.join(dir, SMARTHOST_SETTINGS_FILE)));
  fs.writeFileSync(path.join(dir, SMARTHOST_SETTINGS_FILE), '{not json');
  throwsSettings(() => loadSmarthost(dir, dir), /not valid JSON/);
  fs.writeFileSync(path.join(dir, SMARTHOST_SETTINGS_FILE), JSON.stringify({ host: 'a.example', port: 587, security: 'starttls', user: 'me' }));
  throwsSettings(() => loadSmarthost(dir, dir), /password.* missing/);
});

const rcptError = (recipient: string, code: number, response: string) => Object.assign(new Error('Recipient command failed'), { recipient, responseCode: code, response });

test('answers sorted per recipient', () => {
  const info = { accepted: ['a@x.example'], rejected: ['b@x.example', 'c@x.example'], rejectedErrors: [rcptError('b@x.example', 550, '550 5.1.1 unknown'), rcptError('c@x.example', 452, '452 4.2.2 full')], response: '250 2.0.0 OK id=1', envelopeTime: 1, messageTime: 1, messageSize: 1 };
  assert.equal(outcomesOf(['a@x.example', 'b@x.example', 'c@x.example'], { info }), [
    { recipient: 'a@x.example', status: 'sent', reply: '250 2.0.0 OK id=1' },
    { recipient: 'b@x.example', status: 'permanent', reply: '550 5.1.1 unknown' },
    { recipient: 'c@x.example', status: 'temporary', reply: '452 4.2.2 full' },
  ]);
  const all = ['a@x.example', 'b@x.example'];
  const dataRefused = Object.assign(new Error('Message failed: 554 5.6.0 spam'), { code: 'EMESSAGE', responseCode: 554, response: '554 5.6.0 spam' });
  assert.equal(outcomesOf(all, { error: dataRefused }).map((o) => o.status), ['permanent', 'permanent']);
  const deferred = Object.assign(new Error('Message failed'), { code: 'EMESSAGE', responseCode: 451, response: '451 4.3.0 later' });
  assert.equal(outcomesOf(all, { error: deferred }).map((o) => o.status), ['temporary', 'temporary']);
  const refused = Object.assign(new Error('Invalid login: 535 5.7.8 bad credentials'), { code: 'EAUTH', responseCode: 535, response: '535 5.7.8 bad credentials' });
  assert.equal(outcomesOf(all, { error: refused }).map((o) => o.status), ['temporary', 'temporary'], 'our login problem, not the message');
  const down = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:25\r\nsecond line'), { code: 'ESOCKET' });
  assert.equal(outcomesOf(all, { error: down })[0], { recipient: 'a@x.example', status: 'temporary', reply: 'connect ECONNREFUSED 127.0.0.1:25 second line' });
  const allRejected = Object.assign(new Error("Can't send mail - all recipients were rejected"), { code: 'EENVELOPE', responseCode: 550, rejectedErrors: [rcptError('a@x.example', 550, '550 5.1.1 no'), rcptError('b@x.example', 450, '450 4.2.1 busy')] });
  assert.equal(outcomesOf(all, { error: allRejected }).map((o) => o.status), ['permanent', 'temporary']);
});

test.run();
