/**
 * The playground as a person uses it: headless Chromium with no way out to the internet opens the
 * gateway's URL, types a query, runs it, and reads the result on the page.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startExampleSystem, type ExampleSystem } from '../../scripts/system.ts';
import { generateProducts } from '../../services/catalog/data.ts';
import { generateCustomers } from '../../services/customers/data.ts';
import { waitFor } from '../support/eventlog-contract.ts';
import type { Page } from 'playwright-core';
import { launchOfflineBrowser, type OfflineBrowser } from '../support/browser.ts';

/** Replaces the query editor's text by typing, as a person would (the editor closes brackets itself). */
async function typeQuery(page: Page, text: string): Promise<void> {
  const editor = page.locator('.graphiql-query-editor .monaco-editor').first();
  await editor.click();
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('Delete');
  await page.waitForTimeout(200);
  await page.keyboard.type(text, { delay: 20 });
  await page.keyboard.press('Escape'); // close the autocompletion list, if open
}

async function openPlayground(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.locator('.graphiql-query-editor').waitFor({ timeout: 30_000 });
}

describe('the playground in a browser with no internet access', () => {
  let system: ExampleSystem;
  let browser: OfflineBrowser;

  before(async () => {
    [system, browser] = await Promise.all([
      startExampleSystem({
        host: '127.0.0.1',
        gatewayPort: 0,
        logLevel: 'warn',
        env: { 'orders-subgraph': { FULFILLMENT_PAY_DELAY_MS: '1000', FULFILLMENT_SHIP_DELAY_MS: '1000' } },
      }),
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
    await openPlayground(page, `${system.gatewayUrl}/`);

    // The schema came from introspection: the docs explorer lists the root type's fields.
    await page.getByRole('button', { name: /show documentation explorer/i }).click();
    await page.getByText('Query', { exact: true }).first().click();
    await page.getByText('customers', { exact: true }).first().waitFor({ timeout: 10_000 });

    // Type a new query over the example one; autocompletion offers the schema's fields.
    await typeQuery(page, 'query Product { prod');
    await page.keyboard.type('u', { delay: 20 });
    await page.locator('.graphiql-query-editor .suggest-widget').getByText('product', { exact: true }).waitFor({ timeout: 10_000 });
    await page.keyboard.press('Escape');
    await page.keyboard.type('ct(id: "p42") { name priceCents', { delay: 20 });
    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: /execute query/i }).click();

    const expected = generateProducts().find((p) => p.id === 'p42')!;
    const result = page.locator('.graphiql-response');
    await result.getByText(expected.name).waitFor({ timeout: 15_000 });
    assert.match(await result.innerText(), new RegExp(String(expected.priceCents)));
    assert.deepEqual(browser.outsideRequests, [], 'the page must not reach outside this machine');
    assert.deepEqual(pageErrors, []);
  });

  test('subscribes in one tab and shows the events of an order placed in another', async () => {
    const watcher = await browser.context.newPage();
    await openPlayground(watcher, `${system.gatewayUrl}/`);
    await typeQuery(watcher, 'subscription Watch { orderEvents(customerId: "c9") { type order { id status customer { name');
    await watcher.getByRole('button', { name: /execute query/i }).click();
    await waitFor(async () => ((await (await fetch(`${system.gatewayUrl}/readyz`)).json()) as { subscriptions: { subscribers: number } }).subscriptions.subscribers >= 1, 15_000, 'the playground never subscribed');

    const shopper = await browser.context.newPage();
    await openPlayground(shopper, `${system.gatewayUrl}/`);
    await typeQuery(shopper, 'mutation Place { placeOrder(input: {customerId: "c9", lines: [{productId: "p5", quantity: 1}]}) { id');
    await shopper.getByRole('button', { name: /execute query/i }).click();
    const placed = shopper.locator('.graphiql-response');
    await placed.getByText('placeOrder').waitFor({ timeout: 15_000 });
    // Long values wrap in the result pane: read it without white space.
    const text = async (pane: typeof placed) => (await pane.innerText()).replace(/\s+/g, '');
    const orderId = /"id":"(o-[^"]+)"/.exec(await text(placed))?.[1];
    assert.ok(orderId, await placed.innerText());

    // The watching tab shows the order's events as they arrive (the fulfillment service moves it on).
    const events = watcher.locator('.graphiql-response');
    await waitFor(async () => (await text(events)).includes(`"id":"${orderId}"`), 15_000, 'the event never showed in the watching tab');
    await waitFor(async () => (await text(events)).includes('"type":"SHIPPED"'), 15_000, 'the SHIPPED event never showed');
    assert.ok((await text(events)).includes(generateCustomers()[8]!.name.replace(/\s+/g, '')));
    assert.deepEqual(browser.outsideRequests, []);
  });
});
