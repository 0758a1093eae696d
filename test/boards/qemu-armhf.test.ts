/** qemu-armhf (32-bit, `-M virt -cpu cortex-a15`) boots its image end to end (test/_lib/qemu-boot.ts). */
import { test } from 'uvu';
import { bootAndCheck } from '../_lib/qemu-boot.js';

test('qemu-armhf: boots to ready, answers /health, takes setup and status on serial, powers off', async () => {
  // The board has no watchdog: the hardware service reports the network only.
  await bootAndCheck({ board: 'qemu-armhf', hardware: /net bound 10\.0\.2\.15\/24/, readySeconds: 360 });
});

test.run();
