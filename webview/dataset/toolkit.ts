// Registers only the toolkit web components the dataset editor uses; FAST styles them through adoptedStyleSheets,
// which the panel's CSP (style-src without 'unsafe-inline') allows.
import { provideVSCodeDesignSystem, vsCodeButton } from '@vscode/webview-ui-toolkit';

export type { Button } from '@vscode/webview-ui-toolkit';

provideVSCodeDesignSystem().register(vsCodeButton());
