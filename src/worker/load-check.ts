/** A throwaway child that loads a processor module once and says whether it is usable. */
import { loadProcessor } from './processor.js';

const file = process.argv[2];
if (!file) {
  process.send?.({ ok: false, message: 'no processor path given' });
  process.exit(2);
}
loadProcessor(file).then(
  (p) => {
    process.send?.({ ok: true, names: p.names ?? null, catalog: p.catalog ?? null, workerOptions: Object.keys(p.workerOptions) }, () => process.exit(0));
  },
  (err: Error) => {
    process.send?.({ ok: false, message: err.message }, () => process.exit(1));
  },
);
