// Completion and hover for *.tunelab.yaml, from core/configEditor (the schema the agent validates with).
import * as vscode from 'vscode';
import { configCompletions } from '../../core/configEditor/completion';
import { configHover } from '../../core/configEditor/hover';
import { toRange } from './convert';

export const completionProvider: vscode.CompletionItemProvider = {
  provideCompletionItems(doc, position) {
    return configCompletions(doc.getText(), doc.offsetAt(position)).map((c) => {
      const item = new vscode.CompletionItem(c.label, c.kind === 'key' ? vscode.CompletionItemKind.Property : vscode.CompletionItemKind.EnumMember);
      item.insertText = c.insertText;
      item.range = toRange(doc, c.replace);
      item.detail = c.detail;
      item.documentation = new vscode.MarkdownString(c.documentation);
      // The schema's default first among values; keys keep the schema's order (the README's order).
      item.sortText = c.isDefault ? `0 ${c.label}` : undefined;
      item.preselect = c.isDefault;
      // dtype: → its values at once.
      if (c.suggestValues) item.command = { command: 'editor.action.triggerSuggest', title: 'Suggest values' };
      return item;
    });
  },
};

export const hoverProvider: vscode.HoverProvider = {
  provideHover(doc, position) {
    const h = configHover(doc.getText(), doc.offsetAt(position));
    return h && new vscode.Hover(new vscode.MarkdownString(h.contents), toRange(doc, h.range));
  },
};
