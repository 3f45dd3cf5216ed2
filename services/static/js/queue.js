// The moderator's queue at volume: cards kept in the chosen order by binary-search insertion
// (no re-render per arrival), the waiting count, and single-key shortcuts on the focused card.
// Each arrival's cost is recorded as a User Timing measure named 'queue-arrival'.

const ORDER_KEY = 'townhall.queue-order';
const SHORTCUTS_KEY = 'townhall.queue-shortcuts';

const compareAsked = (a, b) => (a.dataset.asked < b.dataset.asked ? -1 : a.dataset.asked > b.dataset.asked ? 1 : 0);
const ORDERS = {
  oldest: compareAsked,
  newest: (a, b) => compareAsked(b, a),
  flagged: (a, b) => (Number(a.dataset.priority) - Number(b.dataset.priority)) || compareAsked(a, b),
};

function stored(key, fallback) {
  try { return localStorage.getItem(key) ?? fallback; } catch { return fallback; }
}

function store(key, value) {
  try { localStorage.setItem(key, value); } catch { /* private mode: the choice lasts for the page */ }
}

export class ModerationQueue {
  constructor(list, tools) {
    this.list = list;
    this.select = tools.querySelector('[data-queue-order]');
    this.shortcuts = tools.querySelector('[data-queue-shortcuts]');
    this.help = tools.querySelector('[data-shortcut-help]');
    this.select.value = ORDERS[stored(ORDER_KEY, 'oldest')] ? stored(ORDER_KEY, 'oldest') : 'oldest';
    this.shortcuts.checked = stored(SHORTCUTS_KEY, 'on') === 'on';
    tools.hidden = false;
    this.select.addEventListener('change', () => { store(ORDER_KEY, this.select.value); this.reorder(); });
    this.shortcuts.addEventListener('change', () => store(SHORTCUTS_KEY, this.shortcuts.checked ? 'on' : 'off'));
    list.addEventListener('keydown', (event) => this.onKey(event));
    list.addEventListener('focusin', (event) => this.selectCard(event.target.closest('.queue-item')));
    list.addEventListener('click', (event) => {
      const card = event.target.closest('.queue-item');
      if (card && event.target === card) card.focus();
    });
    this.reorder();
  }

  get compare() { return ORDERS[this.select.value]; }

  // Where `card` belongs among the cards already in order: O(log n) comparisons.
  place(card) {
    const cards = this.list.children;
    let low = 0;
    let high = cards.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (cards[middle] !== card && this.compare(cards[middle], card) <= 0) low = middle + 1;
      else high = middle;
    }
    if (cards[low] !== card) this.list.insertBefore(card, cards[low] || null);
    if (!this.list.querySelector('.queue-item[tabindex="0"]')) card.tabIndex = 0;
  }

  reorder() {
    const cards = [...this.list.children].sort(this.compare);
    this.list.append(...cards);
    if (cards.length && !this.list.querySelector('.queue-item[tabindex="0"]')) cards[0].tabIndex = 0;
  }

  // Roving tabindex: one card is in the tab order, the one last selected.
  selectCard(card) {
    if (!card || card.tabIndex === 0) return;
    for (const other of this.list.querySelectorAll('.queue-item[tabindex="0"]')) other.tabIndex = -1;
    card.tabIndex = 0;
  }

  moveFocus(card, step) {
    const next = step > 0 ? card.nextElementSibling : card.previousElementSibling;
    if (next) { this.selectCard(next); next.focus(); }
  }

  onKey(event) {
    const card = event.target.closest('.queue-item');
    if (!card || event.target !== card || !this.shortcuts.checked) return;   // never inside a field
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const actions = {
      j: () => this.moveFocus(card, 1), ArrowDown: () => this.moveFocus(card, 1),
      k: () => this.moveFocus(card, -1), ArrowUp: () => this.moveFocus(card, -1),
      a: () => { const form = card.querySelector('form[data-command="approve"]'); form.requestSubmit(form.querySelector('[type="submit"]')); },
      r: () => card.querySelector('select[name="reason"]').focus(),
      w: () => { card.querySelector('[data-more]').open = true; card.querySelector('form[data-command="reply"] textarea').focus(); },
      f: () => card.querySelector('form[data-command="escalate"] button').focus(),
      '?': () => { this.help.open = !this.help.open; },
    };
    const action = actions[event.key];
    if (!action) return;
    event.preventDefault();
    if (event.key === 'a') this.moveFocus(card, 1);   // the approved card leaves the queue
    action();
  }
}

// Times one arrival (clone, fill, place) for the browser's performance timeline.
export function timedArrival(work) {
  const started = performance.now();
  work();
  performance.measure('queue-arrival', { start: started, end: performance.now() });
}
