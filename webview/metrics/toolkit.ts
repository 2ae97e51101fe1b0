// Registers only the toolkit web components the panel uses, so the bundle carries no others.
// FAST styles them through adoptedStyleSheets, which the panel's CSP (style-src without 'unsafe-inline') allows.
import { provideVSCodeDesignSystem, vsCodeButton, vsCodeCheckbox } from '@vscode/webview-ui-toolkit';

export type { Button, Checkbox } from '@vscode/webview-ui-toolkit';

provideVSCodeDesignSystem().register(vsCodeButton(), vsCodeCheckbox());
