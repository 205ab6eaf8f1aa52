// Used as `node --import ./test/helpers/import-log.mjs …`: appends every ES module URL the process
// resolves to the file named by $WP_IMPORT_LOG, so a test can see what a command loads.
import { register } from 'node:module';

register(new URL('./import-log-hooks.mjs', import.meta.url), { data: { file: process.env.WP_IMPORT_LOG } });
