/** The stock git CLI, the reference our repositories must satisfy. */
import { spawnSync } from 'node:child_process';

export function git(gitDir: string, args: string[], input?: string | Buffer): string {
  const result = spawnSync('git', ['--git-dir', gitDir, ...args], {
    input: typeof input === 'string' ? Buffer.from(input) : (input ?? Buffer.alloc(0)),
    encoding: 'buffer',
    env: { ...process.env, GIT_AUTHOR_NAME: 'Test', GIT_AUTHOR_EMAIL: 't@example.test', GIT_COMMITTER_NAME: 'Test', GIT_COMMITTER_EMAIL: 't@example.test' },
    maxBuffer: 512 * 1024 * 1024,
  });
  if (result.status !== 0) throw new Error(`git ${args.join(' ')} failed (${result.status}): ${result.stderr.toString()}`);
  return result.stdout.toString('utf8');
}

/** `git fsck --strict`: returns its complaints ('' when the repository is clean). */
export function fsck(gitDir: string): string {
  const result = spawnSync('git', ['--git-dir', gitDir, 'fsck', '--strict', '--no-dangling'], { encoding: 'utf8' });
  return result.status === 0 ? '' : `exit ${result.status}: ${result.stdout}${result.stderr}`;
}
