/**
 * The image boots: `make image BOARD=qemu-arm64` under QEMU, checked end to end by
 * test/_lib/qemu-boot.ts (ready line, /health, setup and status on serial, an update pushed
 * with git and installed on trial, poweroff). The other
 * boards QEMU can boot are in test/boards (`make test-boards`).
 */
import { test } from 'uvu';
import { bootAndCheck } from '../_lib/qemu-boot.js';

test('qemu-arm64: boots to ready, answers /health, takes setup and status on serial, an update by git push, powers off', async () => {
  await bootAndCheck({ board: 'qemu-arm64', hardware: /net bound 10\.0\.2\.15\/24, watchdog running/, readySeconds: 240, update: { arch: 'arm64', seconds: 240 } });
});

test.run();
