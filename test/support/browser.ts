/**
 * Headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core; never a downloaded
 * browser) with the network to the outside blocked: host names other than 127.0.0.1 do not resolve,
 * and every request the page tries to send elsewhere is refused and recorded.
 */
import { chromium, type Browser, type BrowserContext } from 'playwright-core';

export const chromiumPath = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';

export interface OfflineBrowser {
  browser: Browser;
  context: BrowserContext;
  /** Requests the page tried to send anywhere but 127.0.0.1. */
  outsideRequests: string[];
  close(): Promise<void>;
}

export async function launchOfflineBrowser(): Promise<OfflineBrowser> {
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
    ],
  });
  const context = await browser.newContext();
  const outsideRequests: string[] = [];
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if ((url.protocol === 'http:' || url.protocol === 'https:' || url.protocol === 'ws:') && url.hostname !== '127.0.0.1') {
      outsideRequests.push(url.href);
      return route.abort('internetdisconnected');
    }
    return route.continue();
  });
  return { browser, context, outsideRequests, close: () => browser.close() };
}
