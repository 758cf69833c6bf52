/**
 * The playground as a person uses it: headless Chromium with no way out to the internet opens the
 * gateway's URL, types a query, runs it, and reads the result on the page.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Scope } from '../../lib/auth/principal.ts';
import { startExampleSystem, type ExampleSystem } from '../../scripts/system.ts';
import { generateProducts } from '../../services/catalog/data.ts';
import { generateCustomers } from '../../services/customers/data.ts';
import { scaled, waitFor } from '../support/wait.ts';
import type { Page } from 'playwright-core';
import { launchOfflineBrowser, type OfflineBrowser } from '../support/browser.ts';
import { gatewayStats } from '../subscriptions/support.ts';

/** Replaces the query editor's text by typing, as a person would (the editor closes brackets itself). */
async function typeQuery(page: Page, text: string): Promise<void> {
  const editor = page.locator('.graphiql-query-editor .monaco-editor').first();
  await editor.click();
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('Delete');
  await waitFor(async () => (await editor.locator('.view-lines').innerText()).trim() === '', 10_000, 'the query editor was not emptied');
  await page.keyboard.type(text, { delay: 20 });
  await page.keyboard.press('Escape'); // close the autocompletion list, if open
}

/**
 * Waits until the playground's own state (which it saves as `graphiql:tabState`) holds what the
 * editor shows: GraphiQL takes the editor's text over after a moment, and runs what it holds.
 */
async function untilEditorTaken(page: Page): Promise<void> {
  const squeeze = (text: string) => text.replace(/\s+/g, '');
  await waitFor(
    async () => {
      const shown = squeeze(await page.locator('.graphiql-query-editor .view-lines').first().innerText());
      const held = await page.evaluate(() => {
        const state = JSON.parse(localStorage.getItem('graphiql:tabState') ?? '{}') as {
          tabs?: { query?: string | null }[];
          activeTabIndex?: number;
        };
        return state.tabs?.[state.activeTabIndex ?? 0]?.query ?? '';
      });
      return shown !== '' && squeeze(held) === shown;
    },
    10_000,
    'the playground never took over the typed query',
    100,
  );
}

/** Runs what the editor shows. */
async function execute(page: Page): Promise<void> {
  await untilEditorTaken(page);
  // Typing may have opened the editor's suggestion list, which would cover the button.
  await page.keyboard.press('Escape');
  await page.getByRole('button', { name: /execute query/i }).click();
}

async function openPlayground(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.locator('.graphiql-query-editor').waitFor({ timeout: scaled(60_000) });
}

/** Room for a loaded machine: these tests wait on processes and a browser, each wait up to 60 s. */
const BROWSER_TEST = { timeout: 600_000 };

describe('the playground in a browser with no internet access', () => {
  let system: ExampleSystem;
  let browser: OfflineBrowser;
  // Both are started at once; whichever started is stopped, even if the other failed.
  let starting: [Promise<ExampleSystem>, Promise<OfflineBrowser>] | undefined;

  before(async () => {
    starting = [
      startExampleSystem({
        host: '127.0.0.1',
        gatewayPort: 0,
        logLevel: 'warn',
        env: { 'orders-subgraph': { FULFILLMENT_PAY_DELAY_MS: '1000', FULFILLMENT_SHIP_DELAY_MS: '1000' } },
        // As npm start does: the playground opens with a customer's token (the customer the tabs below act for).
        playgroundToken: { customer: 'c9', scopes: [Scope.ORDERS_WRITE] },
      }),
      launchOfflineBrowser(),
    ];
    [system, browser] = await Promise.all(starting);
  }, BROWSER_TEST);
  after(async () => {
    if (!starting) return;
    const [systemStarted, browserStarted] = await Promise.allSettled(starting);
    if (browserStarted.status === 'fulfilled') await browserStarted.value.close();
    if (systemStarted.status === 'fulfilled') await systemStarted.value.stop();
  });

  test('loads with schema docs and autocompletion, runs a typed query and shows the result', BROWSER_TEST, async () => {
    const page = await browser.context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await openPlayground(page, `${system.gatewayUrl}/`);

    // The schema came from introspection: the docs explorer lists the root type's fields.
    await page.getByRole('button', { name: /show documentation explorer/i }).click();
    await page.getByText('Query', { exact: true }).first().click();
    await page
      .getByText('customers', { exact: true })
      .first()
      .waitFor({ timeout: scaled(60_000) });

    // Type a new query over the example one; autocompletion offers the schema's fields.
    await typeQuery(page, 'query Product { prod');
    await page.keyboard.type('u', { delay: 20 });
    await page
      .locator('.graphiql-query-editor .suggest-widget')
      .getByText('product', { exact: true })
      .waitFor({ timeout: scaled(60_000) });
    await page.keyboard.press('Escape');
    await page.keyboard.type('ct(id: "p42") { name priceCents', { delay: 20 });
    await page.keyboard.press('Escape');
    await execute(page);

    const expected = generateProducts().find((p) => p.id === 'p42')!;
    const result = page.locator('.graphiql-response');
    await result.getByText(expected.name).waitFor({ timeout: scaled(60_000) });
    assert.match(await result.innerText(), new RegExp(String(expected.priceCents)));
    assert.deepEqual(browser.outsideRequests, [], 'the page must not reach outside this machine');
    assert.deepEqual(pageErrors, []);
  });

  test('subscribes in one tab and shows the events of an order placed in another', BROWSER_TEST, async () => {
    const watcher = await browser.context.newPage();
    await openPlayground(watcher, `${system.gatewayUrl}/`);
    await typeQuery(watcher, 'subscription Watch { orderEvents(customerId: "c9") { type order { id status customer { name');
    await execute(watcher);
    await waitFor(
      async () => (await gatewayStats(system.opsUrl('gateway'))).subscribers >= 1,
      60_000,
      'the playground never subscribed',
      250,
    );

    const shopper = await browser.context.newPage();
    await openPlayground(shopper, `${system.gatewayUrl}/`);
    await typeQuery(shopper, 'mutation Place { placeOrder(input: {customerId: "c9", lines: [{productId: "p5", quantity: 1}]}) { id');
    await execute(shopper);
    const placed = shopper.locator('.graphiql-response');
    await placed.getByText('placeOrder').waitFor({ timeout: scaled(60_000) });
    // Long values wrap in the result pane: read it without white space.
    const text = async (pane: typeof placed) => (await pane.innerText()).replace(/\s+/g, '');
    const orderId = /"id":"(o-[^"]+)"/.exec(await text(placed))?.[1];
    assert.ok(orderId, await placed.innerText());

    // The watching tab shows the order's events as they arrive (the fulfillment service moves it on).
    const events = watcher.locator('.graphiql-response');
    await waitFor(async () => (await text(events)).includes(`"id":"${orderId}"`), 60_000, 'the event never showed in the watching tab');
    await waitFor(async () => (await text(events)).includes('"type":"SHIPPED"'), 60_000, 'the SHIPPED event never showed');
    assert.ok((await text(events)).includes(generateCustomers()[8]!.name.replace(/\s+/g, '')));
    assert.deepEqual(browser.outsideRequests, []);
  });
});
