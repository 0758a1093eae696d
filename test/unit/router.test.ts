import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Router, type Handler } from '../../firmware/http/index.js';

const named = (name: string): Handler & { label: string } => Object.assign(() => undefined, { label: name });

test('exact routes, prefix routes, longest prefix wins', () => {
  const router = new Router();
  const root = named('root');
  const git = named('git');
  const gitUser = named('gitUser');
  router.add('GET', '/', root);
  router.add(['GET', 'POST'], '/git/*', git);
  router.add('GET', '/git/alice.git/*', gitUser);
  const handlerOf = (method: string, path: string) => {
    const m = router.match(method, path);
    return m !== undefined && 'handler' in m ? (m.handler as typeof root).label : m;
  };
  assert.is(handlerOf('GET', '/'), 'root');
  assert.is(handlerOf('GET', '/git'), 'git');
  assert.is(handlerOf('POST', '/git/bob.git/info/refs'), 'git');
  assert.is(handlerOf('GET', '/git/alice.git/info/refs'), 'gitUser');
  assert.is(handlerOf('GET', '/gitx'), undefined);
  assert.is(handlerOf('GET', '/nothing'), undefined);
});

test('HEAD is served by GET routes; other methods get the allowed list', () => {
  const router = new Router();
  router.add('GET', '/health', named('health'));
  const head = router.match('HEAD', '/health');
  assert.ok(head !== undefined && 'handler' in head);
  assert.equal(router.match('DELETE', '/health'), { allowed: ['GET'] });
});

test.run();
