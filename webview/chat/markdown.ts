// Answers as Markdown through markdown-it with raw HTML off: a model's `<script>` or `<img onerror>` is
// escaped into text. Links and images are switched off too (their Markdown shows as written), so nothing in
// an answer can navigate the webview or fetch anything; the CSP would refuse it anyway.
import MarkdownIt from 'markdown-it';

const md = new MarkdownIt({ html: false, linkify: false, typographer: false, breaks: true });
md.disable(['link', 'image', 'autolink', 'html_inline', 'html_block', 'reference']);

/** HTML that markdown-it generated from escaped text; safe to assign to innerHTML. */
export function renderMarkdown(text: string): string {
  return md.render(text);
}
