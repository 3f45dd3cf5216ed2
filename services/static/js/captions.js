// The live captions panel (room page and big screen): final lines from the room event log (in order,
// each once), the phrase still being spoken from `caption_partial`. Only final lines go to the
// polite live region, one at a time. Text size and hiding are remembered in this browser.
import { t } from './live.js';

const SIZE_KEY = 'townhall.captions.size';
const HIDDEN_KEY = 'townhall.captions.hidden';
const SIZES = 5;

function remembered(key, fallback) {
  try { return localStorage.getItem(key) ?? fallback; } catch { return fallback; }
}
function remember(key, value) {
  try { localStorage.setItem(key, value); } catch { /* private mode: the choice lasts for this page */ }
}

export function captionsPanel(panel, { controls = true } = {}) {
  if (!panel) return { final() {}, partial() {} };
  const lines = panel.querySelector('[data-captions-lines]');
  const partialLine = panel.querySelector('[data-field="caption-partial"]');
  const announcer = panel.querySelector('[data-field="captions-announcer"]');
  const toggle = panel.querySelector('[data-captions-toggle]');
  const body = panel.querySelector('.captions-body');
  let latest = -1;
  for (const li of lines.children) latest = Math.max(latest, Number(li.dataset.captionId));

  const setSize = (size) => {
    const n = Math.max(0, Math.min(SIZES - 1, Number(size) || 0));
    panel.dataset.size = String(n);
    remember(SIZE_KEY, String(n));
  };
  const setHidden = (hidden) => {
    body.hidden = hidden;
    toggle.setAttribute('aria-expanded', String(!hidden));
    toggle.textContent = hidden ? t('show_captions') : t('hide_captions');
    remember(HIDDEN_KEY, hidden ? '1' : '0');
  };
  if (controls) {   // the big screen has none: it is read from across a room
    setSize(remembered(SIZE_KEY, panel.dataset.size));
    setHidden(remembered(HIDDEN_KEY, '0') === '1');
    panel.querySelector('[data-captions-controls]').hidden = false;
    for (const button of panel.querySelectorAll('[data-captions-size]')) {
      button.addEventListener('click', () => setSize(Number(panel.dataset.size) + Number(button.dataset.captionsSize)));
    }
    toggle.addEventListener('click', () => setHidden(!body.hidden));
  }

  const keepNewestInView = () => { lines.scrollTop = lines.scrollHeight; };
  return {
    final(c) {
      if (lines.querySelector(`[data-caption-id="${CSS.escape(String(c.id))}"]`)) return;
      const li = document.createElement('li');
      li.dataset.captionId = String(c.id);
      li.textContent = c.text;
      const after = [...lines.children].find((el) => Number(el.dataset.captionId) > c.id);
      lines.insertBefore(li, after || null);
      latest = Math.max(latest, c.id);
      if (Number(partialLine.dataset.captionId) <= c.id) { partialLine.textContent = ''; delete partialLine.dataset.captionId; }
      panel.hidden = false;
      if (!body.hidden) announcer.textContent = c.text;
      keepNewestInView();
    },
    partial(c) {
      if (c.id <= latest) return;   // its final line is already shown
      partialLine.dataset.captionId = String(c.id);
      partialLine.textContent = c.text;
      panel.hidden = false;
      keepNewestInView();
    },
  };
}
