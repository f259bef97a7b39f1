// Small DOM and formatting helpers shared by the pages. Text always goes in as text nodes, never as HTML.

/**
 * Creates an element. attrs: "class", "text", on<Event> functions, boolean and string attributes
 * (false/null/undefined leave the attribute out). Children: nodes, strings, arrays, null (skipped).
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === 'class') el.className = value;
    else if (name === 'text') el.textContent = value;
    else if (name.startsWith('on') && typeof value === 'function') el.addEventListener(name.slice(2), value);
    else if (name === 'value') el.value = value;
    else if (name === 'checked') el.checked = Boolean(value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces an element's children. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/** A comma-separated input's values, trimmed, empty ones dropped. */
export function splitList(text) {
  return String(text ?? '').split(',').map(s => s.trim()).filter(Boolean);
}

/** "1:05:09", "4:59", "0:07": a whole number of seconds as a clock. */
export function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return hh > 0 ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

/** "12 s ago", "3 min ago", "2 h ago", "5 d ago" between two instants (milliseconds). */
export function ago(thenMs, nowMs) {
  const s = Math.max(0, Math.round((nowMs - thenMs) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/** An ISO instant as the browser's local date and time, for titles and tables. */
export function localTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

/**
 * Runs an async refresh at most once at a time: a request while one runs makes exactly one more
 * run after it, so the page always ends on the newest state without piling up requests.
 */
export function coalesce(fn) {
  let running = null;
  let again = false;
  const run = async () => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await fn();
        } while (again);
      } finally {
        running = null;
      }
    })();
    return running;
  };
  return run;
}

/**
 * The panel a page shows when this server has no route for it (404 on GET /collab/state/{kind}): the
 * server predates that part of Collab. Says which request answered what.
 */
export function notAvailable(what, path, error) {
  return h('section', {class: 'panel unavailable', 'data-testid': 'not-available', role: 'note'},
      h('h3', {text: `${what} are not available on this server`}),
      h('p', {}, h('code', {text: `GET ${path}`}), ` answered ${error.status}: ${error.message}`),
      h('p', {class: 'muted', text: `This page comes alive when the server runs a Collab version with ${what.toLowerCase()}.`}));
}
