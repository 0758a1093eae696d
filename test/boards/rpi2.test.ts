/**
 * rpi2 (`-M raspi2b`: its SD card, PL011 console, watchdog) boots its image to ready, takes
 * setup and status on serial, and halts. QEMU's Pi has no USB, so no network (the Pi's NIC is
 * on USB) and no /health; QEMU loads the kernel itself, not the GPU firmware.
 */
import { test } from 'uvu';
import { bootAndCheck } from '../_lib/qemu-boot.js';

test('rpi2: boots to ready, takes setup and status on serial, halts', async () => {
  await bootAndCheck({ board: 'rpi2', hardware: /led ready/, network: false, readySeconds: 480, poweroff: 'halt' });
});

test.run();
