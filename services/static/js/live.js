// The client side of the room event log: apply events in sequence order, ignore repeats,
// ask the server for any gap, and resume from the last applied sequence on every reconnect.
export class EventStream {
  constructor(name, lastSeq, apply, requestMissing) {
    this.name = name;
    this.lastSeq = lastSeq;
    this.apply = apply;
    this.requestMissing = requestMissing;
    this.pending = new Map();
    this.asking = false;
  }

  receive(events) {
    for (const event of events) {
      if (event.seq > this.lastSeq) this.pending.set(event.seq, event);
    }
    while (this.pending.has(this.lastSeq + 1)) {
      const event = this.pending.get(this.lastSeq + 1);
      this.pending.delete(event.seq);
      this.lastSeq = event.seq;
      this.apply(event);
    }
    if (this.pending.size && !this.asking) this.fillGap();
  }

  fillGap() {
    this.asking = true;
    this.requestMissing(this.name, this.lastSeq, (events) => {
      this.asking = false;
      if (events && events.length) this.receive(events);
    });
  }
}

export function connect(root, extraAuth = () => ({})) {
  const url = root.dataset.liveUrl || undefined;
  // eslint-disable-next-line no-undef
  return io(url, {
    transports: ['websocket'],
    auth: (cb) => cb({ token: root.dataset.token, lang: document.documentElement.lang, ...extraAuth() }),
  });
}

export function resumeVia(socket) {
  return (stream, after, done) => {
    socket.emit('resume', { stream, after }, (reply) => done(reply && reply.ok ? reply.events : []));
  };
}

// The page's words in its language: a JSON data block (`<script type="application/json" id="i18n">`)
// rendered by the server. `t('key', { name })` fills `%(name)s` placeholders.
let strings = null;
export function t(key, vars = {}) {
  if (strings === null) {
    const block = document.getElementById('i18n');
    strings = block ? JSON.parse(block.textContent) : {};
  }
  const text = strings[key] ?? key;
  return text.replace(/%\((\w+)\)s/g, (match, name) => (name in vars ? String(vars[name]) : match));
}

// Polite announcements that do not flood a screen reader: at most one every few seconds.
export function makeAnnouncer(region, intervalMs = 4000) {
  let queued = [];
  let timer = null;
  const flush = () => {
    timer = null;
    if (!queued.length) return;
    region.textContent = queued.length === 1 ? queued[0]
      : t('many_updates', { num: queued.length, text: queued[queued.length - 1] });
    queued = [];
    timer = setTimeout(flush, intervalMs);
  };
  return (message) => {
    queued.push(message);
    if (!timer) flush();
  };
}

export function fill(node, fields) {
  for (const [name, value] of Object.entries(fields)) {
    const el = node.querySelector(`[data-field="${name}"]`);
    if (el) el.textContent = value == null ? '' : String(value);
  }
  return node;
}

export function cloneTemplate(id) {
  return document.getElementById(id).content.firstElementChild.cloneNode(true);
}

// Shows the connection state in words and marks the root (`data-connection`) for styling and tests.
function setConnection(root, text, state) {
  root.dataset.connection = state;
  const el = root.querySelector('[data-field="connection"]');
  if (el) el.textContent = text;
}

// Keeps the page's connection state shown (`words.lost` while reconnecting, `words.failed` while the
// server cannot be reached). socket.io-client retries a failed transport by itself but not a connect
// the server refused: a refusal marked `retry` (a live process restarting) is retried here, after
// 1, 2, 4… up to 30 seconds, each cut by up to half at random so a drained process's pages do not
// all return at once; any other refusal (an expired session) is shown as the server worded it, and left.
export function showConnection(root, socket, words) {
  let retries = 0;
  socket.on('connect', () => {
    retries = 0;
    setConnection(root, '', 'connected');
  });
  socket.on('disconnect', () => setConnection(root, words.lost, 'disconnected'));
  socket.on('connect_error', (err) => {
    if (socket.active) {
      setConnection(root, words.failed, 'error');
    } else if (err.data && err.data.retry) {
      setConnection(root, words.lost, 'disconnected');
      const delay = Math.min(30000, 1000 * 2 ** retries++);
      setTimeout(() => socket.connect(), delay * (0.5 + Math.random() / 2));
    } else {
      setConnection(root, err.message, 'error');
    }
  });
}
