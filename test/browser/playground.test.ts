/**
 * The playground as a person uses it: headless Chromium with no way out to the internet opens the
 * gateway's URL, types a query, runs it, and reads the result on the page.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startExampleSystem, type ExampleSystem } from '../../scripts/system.ts';
import { generateProducts } from '../../services/catalog/data.ts';
import { launchOfflineBrowser, type OfflineBrowser } from '../support/browser.ts';

describe('the playground in a browser with no internet access', () => {
  let system: ExampleSystem;
  let browser: OfflineBrowser;

  before(async () => {
    [system, browser] = await Promise.all([
      startExampleSystem({ host: '127.0.0.1', gatewayPort: 0, logLevel: 'warn' }),
      launchOfflineBrowser(),
    ]);
  });
  after(async () => {
    await browser?.close();
    await system?.stop();
  });

  test('loads with schema docs and autocompletion, runs a typed query and shows the result', async () => {
    const page = await browser.context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(`${system.gatewayUrl}/`);
    await page.locator('.graphiql-query-editor').waitFor({ timeout: 30_000 });

    // The schema came from introspection: the docs explorer lists the root type's fields.
    await page.getByRole('button', { name: /show documentation explorer/i }).click();
    await page.getByText('Query', { exact: true }).first().click();
    await page.getByText('customers', { exact: true }).first().waitFor({ timeout: 10_000 });

    // Type a new query over the example one.
    const editor = page.locator('.graphiql-query-editor .monaco-editor').first();
    await editor.click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.press('Delete');
    await page.waitForTimeout(200);
    await page.keyboard.type('query Product { prod', { delay: 30 });
    // Autocompletion offers the schema's fields.
    const suggestions = page.locator('.graphiql-query-editor .suggest-widget');
    await suggestions.getByText('products').waitFor({ timeout: 10_000 });
    await page.keyboard.press('Escape');
    await page.keyboard.type('uct(id: "p42") { name priceCents', { delay: 30 });
    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: /execute query/i }).click();

    const expected = generateProducts().find((p) => p.id === 'p42')!;
    const result = page.locator('.graphiql-response');
    await result.getByText(expected.name).waitFor({ timeout: 15_000 });
    assert.match(await result.innerText(), new RegExp(String(expected.priceCents)));
    assert.deepEqual(browser.outsideRequests, [], 'the page must not reach outside this machine');
    assert.deepEqual(pageErrors, []);
  });
});
