// Answers as Markdown: markdown-it parses, and the DOM is built from its tokens with createElement and text
// nodes, never from an HTML string. Only the tags in BLOCK_TAGS/INLINE_TAGS are made, with no attribute but
// an ordered list's start, so whatever a model writes (`<script>`, `<img onerror>`, a javascript: link) ends
// up as text. Raw HTML, links and images are also switched off in the parser: their Markdown shows as written,
// so nothing in an answer can navigate the webview or fetch anything (the CSP would refuse it anyway).
import MarkdownIt from 'markdown-it';
import type Token from 'markdown-it/lib/token.mjs';

const md = new MarkdownIt({ html: false, linkify: false, typographer: false, breaks: true });
md.disable(['link', 'image', 'autolink', 'html_inline', 'html_block', 'reference']);

/** What the builder needs of a document: the webview's own, or a stand-in in unit tests. */
export interface NodeFactory {
  createElement(tag: string): MarkdownElement;
  createTextNode(text: string): unknown;
}
export interface MarkdownElement {
  append(...nodes: unknown[]): void;
  setAttribute(name: string, value: string): void;
}

const TAGS = new Set([
  'p', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'blockquote', 'ul', 'ol', 'li', 'hr', 'pre', 'code', 'br',
  'table', 'thead', 'tbody', 'tr', 'th', 'td', 'em', 'strong', 's',
]);

/** Appends the answer's Markdown to `target` (an empty answer body) as DOM nodes. */
export function appendMarkdown(target: MarkdownElement, text: string, doc: NodeFactory): void {
  const stack: MarkdownElement[] = [target];
  const top = () => stack[stack.length - 1];
  const walk = (tokens: Token[]) => {
    for (const t of tokens) {
      if (t.type === 'inline') walk(t.children ?? []);
      else if (t.type === 'text') top().append(doc.createTextNode(t.content));
      else if (t.type === 'softbreak') top().append(doc.createTextNode('\n'));
      else if (t.type === 'hardbreak') top().append(doc.createElement('br'));
      else if (t.type === 'code_inline') top().append(element(doc, 'code', t.content));
      else if (t.type === 'fence' || t.type === 'code_block') {
        const pre = doc.createElement('pre');
        const code = element(doc, 'code', t.content);
        const lang = t.info.trim().split(/\s+/)[0];
        // The language is a class for styling, kept to safe characters.
        if (lang && /^[\w+#.-]{1,32}$/.test(lang)) code.setAttribute('class', `language-${lang}`);
        pre.append(code);
        top().append(pre);
      } else if (t.nesting === 1) {
        const el = doc.createElement(TAGS.has(t.tag) ? t.tag : 'span');
        const start = String(t.attrGet('start') ?? '');
        if (t.tag === 'ol' && start && /^\d{1,9}$/.test(start)) el.setAttribute('start', start);
        top().append(el);
        stack.push(el);
      } else if (t.nesting === -1) {
        if (stack.length > 1) stack.pop();
      } else if (t.type === 'hr') top().append(doc.createElement('hr'));
      else if (t.content) top().append(doc.createTextNode(t.content)); // anything else: its text, as text
    }
  };
  walk(md.parse(text, {}));
}

function element(doc: NodeFactory, tag: string, text: string): MarkdownElement {
  const el = doc.createElement(tag);
  el.append(doc.createTextNode(text));
  return el;
}
