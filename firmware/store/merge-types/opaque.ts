/**
 * `opaque`, the default type: any bytes. Merges only what needs no knowledge of the content —
 * equal sides, one side unchanged, deleted on both sides; everything else is a conflict.
 */
import { conflict, defineContentType } from './content-type.js';

export const opaqueType = defineContentType('opaque', () => conflict('opaque: both sides changed the content differently'));
