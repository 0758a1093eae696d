import * as assert from 'uvu/assert';

/** Asserts that `fn` rejects, and that the error satisfies `check`. */
export async function rejects(fn: () => Promise<unknown>, check: (err: unknown) => boolean, message?: string): Promise<void> {
  try {
    await fn();
  } catch (err) {
    assert.ok(check(err), `${message ?? 'rejection'}: unexpected error ${String(err)}`);
    return;
  }
  assert.unreachable(`${message ?? 'promise'} should have rejected`);
}
