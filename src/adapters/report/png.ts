import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigurationError } from '../../core/errors.ts';

/** Debian's package; bin/install-system-deps.sh installs it in CI. */
export const DEFAULT_CHROMIUM = '/usr/bin/chromium';

/** Flags for a headless browser that never reaches out to the network on its own. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Renders the report's main chart to a PNG with headless Chromium. playwright-core is loaded only here,
 * so writing the HTML never needs a browser.
 */
export async function writeReportPng(
  htmlFile: string,
  pngFile: string,
  options: { readonly executablePath?: string; readonly selector?: string; readonly fullPage?: boolean } = {},
): Promise<string> {
  const executablePath = options.executablePath ?? process.env.CHROMIUM_PATH ?? DEFAULT_CHROMIUM;
  if (!existsSync(executablePath)) {
    throw new ConfigurationError(
      `no Chromium at ${executablePath} (apt-get install chromium, or set CHROMIUM_PATH)`,
    );
  }
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage({ viewport: { width: 1240, height: 900 }, deviceScaleFactor: 1 });
    await page.goto(pathToFileURL(path.resolve(htmlFile)).href);
    await page.waitForSelector('body[data-ready="true"]');
    const file = path.resolve(pngFile);
    await mkdir(path.dirname(file), { recursive: true });
    if (options.fullPage) await page.screenshot({ path: file, fullPage: true });
    else await page.locator(options.selector ?? '#main-chart').screenshot({ path: file });
    return file;
  } finally {
    await browser.close();
  }
}
