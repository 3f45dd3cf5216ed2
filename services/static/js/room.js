// The resident room page, live: published questions and answers, announcements, polls,
// the resident's own questions and private messages, and the presence count.
import { EventStream, connect, resumeVia, makeAnnouncer, fill, cloneTemplate, showConnection, t } from './live.js';
import { captionsPanel } from './captions.js';
import { questionNode, addAnswer, removeQuestion, findQuestion } from './questions.js';

const root = document.getElementById('live');
const questions = document.getElementById('questions');
const announce = makeAnnouncer(root.querySelector('[data-field="announcer"]'));
const statusText = (status) => t(`status_${status}`);

const showEmpty = (name, empty) => {
  const el = root.querySelector(`[data-empty-for="${name}"]`);
  if (el) el.hidden = !empty;
};

function addAnswerAndAnnounce(a) {
  if (addAnswer(questions, a)) announce(t('answered', { name: a.by }));
}

function addAnnouncement(a) {
  const list = document.getElementById('announcements');
  if (list.querySelector(`[data-announcement-id="${CSS.escape(a.id)}"]`)) return;
  const node = fill(cloneTemplate('tpl-announcement'), { body: a.body, by: a.by });
  node.dataset.announcementId = a.id;
  list.prepend(node);
  showEmpty('announcements', false);
  announce(t('announcement', { text: a.body }));
}

function renderResults(form, results) {
  const box = form.querySelector('[data-field="results"]');
  box.replaceChildren();
  const intro = document.createElement('p');
  intro.textContent = t('results', { num: results.total });
  const list = document.createElement('ul');
  for (const c of results.counts) {
    const li = document.createElement('li');
    li.textContent = `${c.label}: ${c.votes}`;
    list.append(li);
  }
  box.append(intro, list);
  box.hidden = false;
}

function pollForm(poll) {
  const polls = document.getElementById('polls');
  let form = polls.querySelector(`[data-poll-id="${CSS.escape(poll.id)}"]`);
  if (form) return form;
  form = document.createElement('form');
  form.className = 'poll';
  form.dataset.pollId = poll.id;
  form.dataset.kind = poll.kind;
  const fieldset = document.createElement('fieldset');
  const legend = document.createElement('legend');
  legend.textContent = poll.prompt;
  fieldset.append(legend);
  for (const o of poll.options) {
    const div = document.createElement('div');
    div.className = 'option';
    const input = document.createElement('input');
    input.type = poll.kind === 'single' ? 'radio' : 'checkbox';
    input.name = 'option';
    input.value = o.id;
    input.id = `poll-${poll.id}-${o.id}`;
    const label = document.createElement('label');
    label.htmlFor = input.id;
    label.textContent = o.label;
    div.append(input, label);
    fieldset.append(div);
  }
  if (root.dataset.kind === 'resident') {
    const button = document.createElement('button');
    button.type = 'submit';
    button.textContent = t('vote');
    fieldset.append(button);
  }
  const results = document.createElement('div');
  results.className = 'poll-results';
  results.dataset.field = 'results';
  results.hidden = true;
  form.append(fieldset, results);
  polls.append(form);
  showEmpty('polls', false);
  return form;
}

// The page's parts follow the state's order (services/web/residents/room_parts.py); moving a
// part keeps the node, so what has focus keeps it.
const partOrders = JSON.parse(root.dataset.partOrders);

function arrangeFor(state) {
  const holder = root.querySelector('[data-parts]');
  const focused = document.activeElement;
  for (const name of partOrders[state] || []) {
    const part = holder.querySelector(`:scope > [data-part="${name}"]`);
    if (part) holder.append(part);
  }
  if (focused && focused !== document.activeElement && root.contains(focused)) focused.focus({ preventScroll: true });
}

function setRoomState(state, closingText) {
  root.dataset.state = state;
  arrangeFor(state);
  fill(root, { 'room-state': t(`state_${state === 'archived' ? 'closed' : state}`) });
  if (state === 'closed' || state === 'archived') {
    const closing = root.querySelector('[data-field="closing"]');
    closing.hidden = false;
    if (closingText) fill(closing, { 'closing-text': closingText });
    for (const form of root.querySelectorAll('form[data-ask], form.poll fieldset')) form.disabled = true;
    announce(t('closed'));
  } else if (state === 'live') {
    announce(t('now_live'));
  }
}

const captions = captionsPanel(document.getElementById('captions'));

const handlers = {
  'caption.final': (d) => captions.final(d),
  'question.published': (d) => { questionNode(root, questions, d); announce(t('new_question')); },
  'question.answered': addAnswerAndAnnounce,
  'question.hidden': (d) => removeQuestion(questions, d.id),
  'question.votes': (d) => {
    const node = findQuestion(questions, d.id);
    if (node) fill(node, { votes: d.votes });
  },
  'announcement.posted': addAnnouncement,
  'poll.opened': (d) => { pollForm(d); announce(t('new_poll', { text: d.prompt })); },
  'poll.results': (d) => renderResults(pollForm({ id: d.poll_id, options: [], prompt: '' }), d),
  'poll.closed': (d) => {
    const form = pollForm(d);
    form.querySelector('fieldset').disabled = true;
    if (d.results) renderResults(form, d.results);
  },
  'room.state': (d) => setRoomState(d.state, d.closing_text),
  'room.updated': (d) => fill(root, { 'room-title': document.documentElement.lang === 'cy' && d.title_cy ? d.title_cy : d.title }),
};

const socket = connect(root, () => ({ last_seq: stream.lastSeq }));
const stream = new EventStream('room', Number(root.dataset.lastSeq), (e) => handlers[e.type]?.(e.data), resumeVia(socket));

showConnection(root, socket, { lost: t('connection_lost'), failed: t('cannot_connect') });
socket.on('room_event', (e) => stream.receive([e]));
socket.on('room_events', (events) => stream.receive(events));
socket.on('caption_partial', (d) => captions.partial(d));
socket.on('presence', (d) => fill(root, { presence: d.count === 1 ? t('people_one') : t('people_many', { num: d.count }) }));

// --- the resident's own questions and private messages ---------------------------------
function ownQuestion(q) {
  const list = document.getElementById('my-questions-list');
  if (!list) return;
  let item = list.querySelector(`[data-own-id="${CSS.escape(q.id)}"]`);
  if (!item) {
    item = document.createElement('li');
    item.dataset.ownId = q.id;
    item.innerHTML = '<span class="body"></span> – <strong class="own-status"></strong><span class="reason"></span>';
    list.append(item);
  }
  item.querySelector('.body').textContent = q.body;
  item.querySelector('.own-status').textContent = statusText(q.status);
  item.querySelector('.reason').textContent = q.reason ? `: ${q.reason}` : '';
}

const SAFETY_KINDS = ['emergency', 'safeguarding', 'report_crime'];

// The guidance for a message that reads as a risk goes above the composer, in an assertive live
// region, so a resident in danger sees and hears "call 999" before anything else.
function showGuidance(m) {
  const box = document.getElementById('safety-guidance');
  const shown = box && box.querySelector('[data-message-id]');
  if (!box || (shown && (shown.dataset.messageId === m.id || shown.dataset.at >= m.at))) return;
  const p = document.createElement('p');
  p.dataset.messageId = m.id;
  p.dataset.at = m.at;
  p.textContent = m.body;
  box.replaceChildren(p);
}

function privateMessage(m) {
  if (SAFETY_KINDS.includes(m.kind)) showGuidance(m);
  const list = document.getElementById('private-messages');
  if (!list || list.querySelector(`[data-message-id="${CSS.escape(m.id)}"]`)) return;
  const item = document.createElement('li');
  item.className = `private private-${m.kind}`;
  item.dataset.messageId = m.id;
  if (!SAFETY_KINDS.includes(m.kind)) item.setAttribute('role', 'status');   // the guidance box already speaks
  const p = document.createElement('p');
  p.textContent = m.body;
  item.append(p);
  list.prepend(item);
}

socket.on('my_state', (state) => {
  state.questions.forEach(ownQuestion);
  state.messages.forEach(privateMessage);
});
socket.on('my_question', (q) => { ownQuestion(q); announce(t('your_question_is', { status: statusText(q.status) })); });
socket.on('private', privateMessage);

// --- asking, voting ---------------------------------------------------------------------
const askForm = root.querySelector('form[data-ask]');
if (askForm) {
  askForm.addEventListener('submit', (event) => {
    if (!socket.connected) return; // fall back to the plain form post
    event.preventDefault();
    const textarea = askForm.querySelector('textarea');
    const error = askForm.querySelector('[data-field="ask-error"]');
    const body = textarea.value;
    socket.emit('ask', { body }, (reply) => {
      if (reply && reply.ok) {
        textarea.value = '';
        error.hidden = true;
        textarea.removeAttribute('aria-invalid');
        ownQuestion({ id: reply.id, body, status: 'pending' });
      } else {
        error.textContent = reply ? reply.message : t('not_sent');
        error.hidden = false;
        textarea.setAttribute('aria-invalid', 'true');
        textarea.focus();
      }
    });
  });
}

root.addEventListener('click', (event) => {
  const button = event.target.closest('[data-vote]');
  if (!button) return;
  const id = button.closest('[data-question-id]').dataset.questionId;
  socket.emit('vote', { question_id: id }, (reply) => {
    button.disabled = true;
    button.textContent = reply && reply.ok ? t('voted') : (reply ? reply.message : t('vote_not_counted'));
  });
});

root.addEventListener('submit', (event) => {
  const form = event.target.closest('form.poll');
  if (!form) return;
  event.preventDefault();
  const chosen = [...form.querySelectorAll('input[name="option"]:checked')].map((i) => Number(i.value));
  socket.emit('poll_vote', { poll_id: form.dataset.pollId, option_ids: chosen }, (reply) => {
    const note = form.querySelector('.poll-note') || form.appendChild(document.createElement('p'));
    note.className = 'poll-note';
    note.setAttribute('role', 'status');
    note.textContent = reply && reply.ok ? t('vote_counted') : (reply ? reply.message : t('vote_not_counted'));
    if (reply && reply.ok) form.querySelector('fieldset').disabled = true;
  });
});

// --- on a phone, the question box stays in reach: a link to it at the bottom of the screen
// whenever the box itself is out of view -----------------------------------------------
const askJump = root.querySelector('.ask-jump');
if (askJump && askForm && 'IntersectionObserver' in window) {
  new IntersectionObserver(([entry]) => {
    askJump.hidden = entry.isIntersecting || root.dataset.state !== 'live';
  }).observe(askForm);
  askJump.querySelector('a').addEventListener('click', (event) => {
    event.preventDefault();
    askForm.querySelector('textarea').focus();
  });
}
