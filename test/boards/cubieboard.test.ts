/**
 * cubieboard (Allwinner A10, `-M cubieboard`: its SD card, EMAC and watchdog) boots its image
 * end to end (test/_lib/qemu-boot.ts); QEMU loads the kernel itself, not U-Boot.
 */
import { test } from 'uvu';
import { bootAndCheck } from '../_lib/qemu-boot.js';

test('cubieboard: boots to ready, answers /health, takes setup and status on serial, powers off', async () => {
  await bootAndCheck({ board: 'cubieboard', hardware: /net bound 10\.0\.2\.15\/24, watchdog running/, readySeconds: 480, poweroff: 'halt' });
});

test.run();
