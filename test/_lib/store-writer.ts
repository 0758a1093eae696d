/**
 * A child process for the crash test: writes to a store as fast as it can (four concurrent
 * writers, so commits group) and prints each acknowledged commit id on its own line.
 */
import { Store } from '../../firmware/store/index.js';

const store = Store.open(process.argv[2]!, { durability: 'full' });
const main = store.branch();
let n = 0;
async function writer(id: number): Promise<never> {
  for (;;) {
    const i = n++;
    const { commit } = await main.transaction((view) => {
      view.set(`w${id}/${i % 50}/${i}.txt`, `write ${i} `.repeat(1 + (i % 40)));
      if (i % 7 === 0) view.remove(`w${id}/${(i + 25) % 50}`);
      view.set('counter', String(i));
    });
    process.stdout.write(`${commit}\n`);
  }
}
await Promise.all([0, 1, 2, 3].map(writer));
