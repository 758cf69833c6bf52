/**
 * `npm run token -- --customer c3 --scopes "orders:write"`: prints a token (JWT) that the example
 * system of the same data directory accepts (`npm start` verifies with the development key set in
 * `<data dir>/auth/`, created here or by `npm start`, whichever runs first).
 *
 *   --customer ID     the customer the token acts for (claim customer_id)
 *   --scopes "A B"    granted scopes, space- or comma-separated (claim scope)
 *   --admin           every scope there is
 *   --subject NAME    claim sub (default: the customer, else "developer")
 *   --expires TIME    lifetime: seconds, or with a unit (30m, 1h, 7d); default 1h
 *   --data-dir DIR    default: DATA_DIR, else .data
 *
 * Use it as `Authorization: Bearer <token>`, or in the playground's Headers tab.
 */
import { parseArgs } from 'node:util';
import { ALL_SCOPES } from '../lib/auth/principal.ts';
import { DEFAULT_DATA_DIR } from '../lib/config.ts';
import { devAuth, parseLifetime } from './dev-auth.ts';

function fail(message: string): never {
  process.stderr.write(`npm run token: ${message}\n`);
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      customer: { type: 'string' },
      scopes: { type: 'string', default: '' },
      admin: { type: 'boolean', default: false },
      subject: { type: 'string' },
      expires: { type: 'string', default: '1h' },
      'data-dir': { type: 'string', default: process.env['DATA_DIR'] || DEFAULT_DATA_DIR },
    },
    strict: true,
    allowPositionals: false,
  }));
} catch (err) {
  fail((err as Error).message);
}
const expiresInSeconds =
  parseLifetime(values.expires) ?? fail(`--expires: expected seconds or a time like 30m, 1h, 7d, got "${values.expires}"`);
const scopes = values.admin ? ALL_SCOPES : values.scopes.split(/[\s,]+/).filter(Boolean);
const auth = await devAuth(values['data-dir']);
process.stdout.write(`${await auth.token({ customer: values.customer, scopes, subject: values.subject, expiresInSeconds })}\n`);
