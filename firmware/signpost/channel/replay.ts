/**
 * The receive side's replay window (RFC 6479, as WireGuard's counter_validate): a ring of
 * 2048 bits in 32-bit blocks. Counters ahead of the window move it, clearing only the blocks
 * they pass; a counter more than 2048 - 32 behind the greatest seen, or seen before, is
 * refused. Checked after a packet authenticates, so forgeries cannot move the window.
 */
import { REJECT_AFTER_MESSAGES } from './timers.js';

const BLOCK_BITS = 32n;
const RING_BLOCKS = 64;
const WINDOW = BigInt(RING_BLOCKS) * BLOCK_BITS - BLOCK_BITS;

export class ReplayWindow {
  private readonly ring = new Uint32Array(RING_BLOCKS);
  /** One more than the greatest counter accepted (0: none yet). */
  private next = 0n;

  /** Records `counter` and says whether it is new and in range. */
  accept(counter: bigint): boolean {
    if (counter >= REJECT_AFTER_MESSAGES) return false;
    const position = counter + 1n;
    if (position + WINDOW < this.next) return false;
    const block = position / BLOCK_BITS;
    if (position > this.next) {
      const currentBlock = this.next / BLOCK_BITS;
      const passed = block - currentBlock > BigInt(RING_BLOCKS) ? RING_BLOCKS : Number(block - currentBlock);
      for (let i = 1; i <= passed; i++) this.ring[Number((currentBlock + BigInt(i)) % BigInt(RING_BLOCKS))] = 0;
      this.next = position;
    }
    const index = Number(block % BigInt(RING_BLOCKS));
    const bit = 1 << Number(position % BLOCK_BITS);
    if ((this.ring[index]! & bit) !== 0) return false;
    this.ring[index]! |= bit;
    return true;
  }
}
