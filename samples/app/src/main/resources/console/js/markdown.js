// Renders the Markdown of the human log (GET /collab/log.md) as DOM nodes: headings (#, ##, ###),
// bullet items (- ), paragraphs, and inline `code`, **bold** and _italic_. It builds elements and text
// nodes only, so nothing in an event (a title, an actor's name) can become HTML.

import {h} from './dom.js';

const PUNCTUATION = /[!-/:-@[-`{-~]/;
const WORD = /[\p{L}\p{N}]/u;
const isWord = c => c !== undefined && WORD.test(c);

/** The index of the next unescaped token at or after from for which ok(index) holds, or -1. */
function next(text, token, from, ok = () => true) {
  for (let k = from; k < text.length; k++) {
    if (text[k] === '\\') k++;
    else if (text.startsWith(token, k) && ok(k)) return k;
  }
  return -1;
}

/** The index of the next run of exactly n backticks at or after from, or -1. */
function closingFence(text, n, from) {
  for (let j = from; j < text.length;) {
    const k = text.indexOf('`', j);
    if (k === -1) return -1;
    let m = 0;
    while (text[k + m] === '`') m++;
    if (m === n) return k;
    j = k + m;
  }
  return -1;
}

/**
 * Inline Markdown as the log renderer writes it: backslash escapes, decimal character references (an
 * actor's outer spaces, &#32;), code spans with fences of any length (one padding space each side
 * stripped), **strong** and _emphasis_ (not inside a word).
 */
function inline(text) {
  const out = [];
  let plain = '';
  const flush = () => {
    if (plain) out.push(plain);
    plain = '';
  };
  for (let i = 0; i < text.length;) {
    const c = text[i];
    if (c === '\\' && PUNCTUATION.test(text[i + 1] ?? '')) {
      plain += text[i + 1];
      i += 2;
      continue;
    }
    const reference = c === '&' ? /^&#(\d{1,7});/.exec(text.slice(i, i + 10)) : null;
    if (reference && Number(reference[1]) <= 0x10FFFF) { // a decimal character reference (the log writes &#32;)
      plain += String.fromCodePoint(Number(reference[1]));
      i += reference[0].length;
      continue;
    }
    if (c === '`') {
      let n = 0;
      while (text[i + n] === '`') n++;
      const end = closingFence(text, n, i + n);
      if (end === -1) {
        plain += '`'.repeat(n);
        i += n;
        continue;
      }
      let code = text.slice(i + n, end);
      if (code.length > 2 && code.startsWith(' ') && code.endsWith(' ') && code.trim()) code = code.slice(1, -1);
      flush();
      out.push(h('code', {text: code}));
      i = end + n;
      continue;
    }
    if (c === '*' && text[i + 1] === '*') {
      const end = next(text, '**', i + 2);
      if (end > i + 2) {
        flush();
        out.push(h('strong', {}, inline(text.slice(i + 2, end))));
        i = end + 2;
        continue;
      }
    }
    if (c === '_' && !isWord(text[i - 1]) && text[i + 1] && text[i + 1] !== ' ') {
      const end = next(text, '_', i + 1, k => !isWord(text[k + 1]));
      if (end > i + 1) {
        flush();
        out.push(h('em', {}, inline(text.slice(i + 1, end))));
        i = end + 1;
        continue;
      }
    }
    plain += c;
    i++;
  }
  flush();
  return out;
}

/** @return a DocumentFragment for the Markdown text */
export function render(markdown) {
  const fragment = document.createDocumentFragment();
  let list = null;
  let paragraph = null;
  for (const line of markdown.split('\n')) {
    const heading = /^(#{1,3})\s+(.*)$/.exec(line);
    const item = /^[-*]\s+(.*)$/.exec(line);
    if (heading) {
      list = paragraph = null;
      fragment.append(h(`h${heading[1].length + 2}`, {}, inline(heading[2])));
    } else if (item) {
      paragraph = null;
      if (!list) fragment.append(list = h('ul'));
      list.append(h('li', {}, inline(item[1])));
    } else if (line.trim() === '') {
      list = paragraph = null;
    } else if (paragraph) {
      paragraph.append(' ', ...inline(line));
    } else {
      list = null;
      fragment.append(paragraph = h('p', {}, inline(line)));
    }
  }
  return fragment;
}
