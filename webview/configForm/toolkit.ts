// Registers only the toolkit web components the run-config form uses; FAST styles them through
// adoptedStyleSheets, which the page's CSP (style-src without 'unsafe-inline') allows.
import { provideVSCodeDesignSystem, vsCodeButton, vsCodeCheckbox, vsCodeDropdown, vsCodeOption, vsCodeTextField } from '@vscode/webview-ui-toolkit';

export type { Button, Checkbox, Dropdown, TextField } from '@vscode/webview-ui-toolkit';

provideVSCodeDesignSystem().register(vsCodeButton(), vsCodeCheckbox(), vsCodeDropdown(), vsCodeOption(), vsCodeTextField());
