/**
 * Headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core; never a downloaded
 * browser) with the network to the outside blocked: host names other than 127.0.0.1 do not resolve,
 * and every request the page tries to send elsewhere is refused and recorded.
 */
import { chromium, type Browser, type BrowserContext } from 'playwright-core';
import { chromiumPath, requirePrerequisites } from './prerequisites.ts';

export interface OfflineBrowser {
  browser: Browser;
  context: BrowserContext;
  /** Requests the page tried to send anywhere but 127.0.0.1. */
  outsideRequests: string[];
  close(): Promise<void>;
}

export async function launchOfflineBrowser(): Promise<OfflineBrowser> {
  requirePrerequisites('chromium');
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    // The test runner's signals are the test process's to handle: Playwright's own handlers would
    // close the browser but keep the process alive after a timeout.
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
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
  try {
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
  } catch (err) {
    await browser.close();
    throw err;
  }
}
