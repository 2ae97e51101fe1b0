// Driving the VS Code workbench in Chromium the way a person would: command palette, quick open, views.
import type { Frame, Page } from 'playwright-core';
import { waitFor } from './waitFor';

/**
 * Waits until the workbench takes commands: laid out, our contributions registered (the Tunelab activity bar
 * entry), and, when `activates` (the workspace holds a *.tunelab.yaml), Tunelab activated (its status bar
 * item). Until then the palette lacks our commands; on a loaded 2-core CI machine the extension host can take
 * minutes to get there, so sessions wait for it once here rather than each step guessing a timeout.
 */
export async function waitForWorkbench(page: Page, activates: boolean): Promise<void> {
  await page.waitForSelector('.monaco-workbench', { timeout: 120_000 });
  await page.locator('.part.activitybar .action-item a[aria-label^="Tunelab"]').first().waitFor({ state: 'attached', timeout: 240_000 });
  if (activates) await page.locator('.part.statusbar [aria-label*="Tunelab"]').first().waitFor({ state: 'attached', timeout: 240_000 });
}

/**
 * Types `text` into the quick input and clicks the row showing `rowText`. `open` (F1 for the palette) brings
 * the input up; a webview that takes focus as it opens (a panel from the previous step) can close it again
 * before the text lands, so a hidden input is opened again, as a person would, up to three times.
 */
async function quickInput(page: Page, text: string, rowText: string, open?: () => Promise<void>): Promise<void> {
  const input = page.locator('.quick-input-widget .quick-input-box input');
  for (let attempt = 1; ; attempt++) {
    if (open) await open();
    try {
      await input.waitFor({ state: 'visible', timeout: open ? 20_000 : 60_000 });
      await input.fill(text, { timeout: 10_000 });
      const row = page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: rowText }).first();
      await row.waitFor({ state: 'visible', timeout: 60_000 });
      await row.click();
      return;
    } catch (e) {
      if (!open || attempt >= 3 || await input.isVisible()) throw e;
    }
  }
}

/** In an open quick pick: type `filter`, click the row showing `rowText`. */
export async function pickItem(page: Page, filter: string, rowText = filter): Promise<void> {
  await quickInput(page, filter, rowText);
}

/**
 * An input box (showInputBox) that opens holding `shown`: replace it with `value` and press Enter. Waiting for
 * the box's own text tells it from the quick pick that closed just before it.
 */
export async function answerInput(page: Page, shown: string, value: string): Promise<void> {
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await waitFor(`an input box holding "${shown}"`, async () => ((await input.isVisible()) && (await input.inputValue()) === shown ? true : undefined), { timeoutMs: 30_000 });
  await input.fill(value);
  await input.press('Enter');
}

/** F1, the command's title, Enter: what a person does. */
export async function runCommand(page: Page, title: string): Promise<void> {
  await quickInput(page, `>${title}`, title, () => page.keyboard.press('F1'));
}

/** Quick open (the palette without its ">") to open a file by name. */
export async function openFile(page: Page, name: string): Promise<void> {
  await quickInput(page, name, name, () => page.keyboard.press('F1'));
  await page.locator('.tabs-container .tab', { hasText: name }).first().waitFor({ timeout: 30_000 });
}

/** The webview frame (webviews are iframes inside iframes) with `selector`, optionally whose text is `text`. */
export async function findFrame(page: Page, selector: string, what: string, timeoutMs = 60_000, text?: string): Promise<Frame> {
  try {
    return await waitFor(what, async () => {
      for (const frame of page.frames()) {
        const found = await frame.$(selector).catch(() => null);
        if (found && (text === undefined || (await found.textContent().catch(() => null)) === text)) return frame;
      }
      return undefined;
    }, { timeoutMs });
  } catch (e) {
    // CI keeps only the printed log: say what the workbench showed instead of a bare timeout.
    (e as Error).message += `\n  the workbench showed: ${await describeWorkbench(page).catch((d) => `(could not read it: ${d})`)}`;
    throw e;
  }
}

/** Tabs, an open quick input and the notifications: what a person would see, in one line for a failure message. */
export async function describeWorkbench(page: Page): Promise<string> {
  return page.evaluate(() => {
    const texts = (sel: string) => Array.from(document.querySelectorAll(sel)).map((e) => (e.textContent ?? '').trim()).filter(Boolean);
    const quick = document.querySelector('.quick-input-widget') as HTMLElement | null;
    const quickShown = quick && quick.style.display !== 'none' && quick.offsetParent !== null;
    return JSON.stringify({
      tabs: texts('.tabs-container .tab .label-name'),
      activeTab: texts('.tabs-container .tab.active .label-name'),
      quickInput: quickShown ? { title: texts('.quick-input-title'), rows: texts('.quick-input-list .monaco-list-row').slice(0, 8) } : null,
      notifications: texts('.notification-list-item-message'),
      frames: document.querySelectorAll('iframe').length,
    });
  });
}

/**
 * Starts recording every error notification the workbench shows (toasts, even ones closed since), so a test of a
 * healthy path can assert that none appeared: an internal detail shown as a failure ("the agent client was
 * disposed") must fail the test that met it. Idempotent; the page keeps the record until takeErrorToasts reads it.
 */
export async function recordErrorToasts(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { __tunelabErrorToasts?: string[] };
    if (w.__tunelabErrorToasts) return;
    const seen: string[] = (w.__tunelabErrorToasts = []);
    // Each toast is recorded once, however long it stays up and however often the page changes around it.
    const recorded = new WeakSet<Element>();
    const scan = () => {
      for (const toast of Array.from(document.querySelectorAll('.notification-toast'))) {
        // The severity shows as the item's icon; an error carries codicon-error.
        if (recorded.has(toast) || !toast.querySelector('.notification-list-item-icon.codicon-error')) continue;
        recorded.add(toast);
        seen.push(toast.querySelector('.notification-list-item-message')?.textContent?.trim() ?? '(no text)');
      }
    };
    scan();
    new MutationObserver(scan).observe(document.body, { childList: true, subtree: true });
  });
}

/** The error notifications recorded since the last call (recordErrorToasts must have run), and forgets them. */
export async function takeErrorToasts(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const w = window as unknown as { __tunelabErrorToasts?: string[] };
    if (!w.__tunelabErrorToasts) throw new Error('recordErrorToasts was not called on this page');
    return w.__tunelabErrorToasts.splice(0);
  });
}

/** Closes every notification (the palette's "Notifications: Clear All Notifications"), so the next test starts clean. */
export async function clearNotifications(page: Page): Promise<void> {
  await runCommand(page, 'Notifications: Clear All Notifications');
  await page.locator('.notifications-toasts .notification-toast').first().waitFor({ state: 'detached', timeout: 10_000 }).catch(() => undefined);
}
