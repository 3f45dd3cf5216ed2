// Staff live pages (moderation queue and host view): staff and room streams, and every
// command form upgraded from a page post to a Socket.IO event with an acknowledgement.
import { EventStream, connect, resumeVia, makeAnnouncer, fill, cloneTemplate, showConnection } from './live.js';
import { ModerationQueue, timedArrival } from './queue.js';
import { speakLive } from './speak-live.js';

const root = document.getElementById('staff-live');
const page = root.dataset.page;
const announce = makeAnnouncer(root.querySelector('[data-field="announcer"]'));
const queueTools = root.querySelector('[data-queue-tools]');
const moderationQueue = queueTools && new ModerationQueue(document.getElementById('queue'), queueTools);

function giveIds(node, qid) {
  for (const el of node.querySelectorAll('[data-id-prefix]')) el.id = `${el.dataset.idPrefix}-${qid}`;
  for (const label of node.querySelectorAll('[data-label-for]')) label.htmlFor = `${label.dataset.labelFor}-${qid}`;
  for (const input of node.querySelectorAll('[data-field="question-id"]')) input.value = qid;
  for (const form of node.querySelectorAll('form[data-question-form]')) {
    const action = new URL(form.getAttribute('action'), document.baseURI);   // a template's clone has no base URL
    action.searchParams.set('question_id', qid);
    form.setAttribute('action', action);
  }
  node.dataset.questionId = qid;
  if (node.hasAttribute('aria-labelledby')) node.setAttribute('aria-labelledby', `by-${qid}`);
  return node;
}

function findQuestion(container, id) {
  return container.querySelector(`[data-question-id="${CSS.escape(id)}"]`);
}

// --- moderation page ---------------------------------------------------------------------
function placeQueueItem(q) {
  if (!moderationQueue) return;
  const queue = document.getElementById('queue');
  const decided = document.getElementById('decided');
  let node = findQuestion(queue, q.id) || findQuestion(decided, q.id);
  if (!node) node = giveIds(cloneTemplate('tpl-queue-item'), q.id);
  fill(node, { display_name: q.display_name, body: q.body, status: q.status, safety: q.safety ? q.safety.summary : '' });
  node.querySelector('[data-field="advance"]').hidden = !q.asked_in_advance;
  const flags = node.querySelector('[data-field="flags"]');
  flags.replaceChildren(...q.flags.map((f) => {
    const span = document.createElement('span');
    span.className = `flag flag-${f}`;
    span.textContent = f.replace('_', ' ');
    return span;
  }));
  const edit = node.querySelector('textarea[name="body"][data-id-prefix="edit"]');
  if (edit && !edit.value) edit.value = q.body;
  const groupBefore = node.dataset.group || '';
  Object.assign(node.dataset, { status: q.status, asked: q.created_at, priority: q.priority, group: q.group_id || '' });
  node.querySelector(':scope > [data-grouped-only]').hidden = !q.group_id;
  if (q.status === 'pending') {
    moderationQueue.place(node);
  } else {
    if (document.activeElement === node) moderationQueue.moveFocus(node, 1);
    node.tabIndex = -1;
    decided.append(node);
  }
  if (q.group_id) joinAnchor(q.group_id);
  if (groupBefore && groupBefore !== q.group_id) regroup(groupBefore);
  if (q.group_id) regroup(q.group_id);
  fill(root, { 'pending-count': queue.querySelectorAll('.queue-item[data-status="pending"]').length });
}

// --- groups of similar questions -------------------------------------------------------------
// A group's id is the id of the question it grew from: when a question arrives in a group, that
// question is in it too. The earliest waiting member is the group's card; the others open from it.
function joinAnchor(groupId) {
  const anchor = root.querySelector(`.queue-item[data-question-id="${CSS.escape(groupId)}"]`);
  if (anchor && !anchor.dataset.group) {
    anchor.dataset.group = groupId;
    anchor.querySelector(':scope > [data-grouped-only]').hidden = false;
  }
}

// A group's card carries the group block; other cards get one only when they become a group's card.
function groupBlock(card) {
  let block = card.querySelector(':scope > [data-group]');
  if (!block) {
    block = cloneTemplate('tpl-group-block');
    for (const input of block.querySelectorAll('[data-field="question-id"]')) input.value = card.dataset.questionId;
    card.append(block);
  }
  return block;
}

function regroup(groupId) {
  const queue = document.getElementById('queue');
  const cards = [...root.querySelectorAll(`.queue-item[data-group="${CSS.escape(groupId)}"]`)];
  const waiting = cards.filter((c) => c.dataset.status === 'pending')
    .sort((a, b) => (a.dataset.asked < b.dataset.asked ? -1 : a.dataset.asked > b.dataset.asked ? 1 : 0));
  const published = cards.filter((c) => c.dataset.status === 'published');
  const lead = waiting.length && waiting.length + published.length >= 2 ? waiting[0] : null;
  for (const card of waiting) {
    if (lead && card !== lead) {
      card.tabIndex = -1;
      groupBlock(lead).querySelector('[data-group-members]').append(card);
    } else if (card.parentElement !== queue) {
      moderationQueue.place(card);
    }
  }
  for (const card of cards) {
    if (card !== lead) {
      const block = card.querySelector(':scope > [data-group]');
      if (block) block.hidden = true;
      continue;
    }
    const block = groupBlock(card);
    block.hidden = false;
    fill(block, { 'group-count': waiting.length + published.length,
      'group-published': published.length
        ? `Already published: “${published[0].querySelector('[data-field="body"]').textContent}”. Merging keeps that one.` : '' });
    block.querySelector('input[name="group_id"]').value = groupId;
  }
}

const staffHandlers = {
  'question.submitted': (d) => {
    timedArrival(() => placeQueueItem(d));
    if (d.safety) announce(`${d.safety.summary.split(',')[0]}: new question from ${d.display_name}. Check it first.`);
    else if (d.status === 'pending' && d.group_id) announce(`New question from ${d.display_name}, grouped with similar questions.`);
    else if (d.status === 'pending') announce(`New question from ${d.display_name}.`);
  },
  'question.moderated': placeQueueItem,
  'question.grouped': (d) => { placeQueueItem(d); announce(d.group_id ? 'Question grouped.' : 'Question taken out of its group.'); },
  'question.assigned': (d) => announce(`Question handed to ${d.name}.`),
  'question.replied': () => announce('Private reply sent.'),
  'question.tagged': (d) => announce(`Themes saved: ${d.themes.join(', ') || 'none'}.`),
  'votes.burst': (d) => {
    const list = document.getElementById('vote-bursts');
    if (!list) return;
    const li = document.createElement('li');
    li.dataset.questionId = d.question_id;
    li.textContent = `${d.votes_from_one_network} votes in ${Math.round(d.window_seconds / 60)} minutes for: ${d.body || ''}`;
    list.append(li);
    const none = root.querySelector('[data-field="no-bursts"]');
    if (none) none.hidden = true;
    announce('A burst of votes from one network.');
  },
};

// Published questions are the choices for "merge as duplicate". A card's list is brought up to
// date when its "More actions" opens, not on every publish: 500 cards are 500 selects.
const mergeTemplate = document.getElementById('tpl-queue-item');
const mergeChoices = new Map(mergeTemplate
  ? [...mergeTemplate.content.querySelectorAll('select[data-published-questions] option')].map((o) => [o.value, o.textContent])
  : []);

function offerMergeChoices(select) {
  const present = new Set([...select.options].map((o) => o.value));
  for (const [id, text] of mergeChoices) {
    if (present.has(id)) continue;
    const option = document.createElement('option');
    option.value = id;
    option.textContent = text;
    select.append(option);
  }
}

function offerForMerge(q) {
  mergeChoices.set(q.id, q.body.length > 80 ? `${q.body.slice(0, 77)}...` : q.body);
  for (const select of document.querySelectorAll('details[open] select[data-published-questions]')) offerMergeChoices(select);
}

root.addEventListener('toggle', (event) => {
  const select = event.target.open && event.target.querySelector?.('select[data-published-questions]');
  if (select) offerMergeChoices(select);
}, true);

// --- host view -----------------------------------------------------------------------------
function publishedNode(q) {
  const list = document.getElementById('published');
  let node = findQuestion(list, q.id);
  if (!node) {
    node = giveIds(cloneTemplate('tpl-answer-form'), q.id);
    list.append(node);
  }
  fill(node, { display_name: q.display_name, body: q.body, votes: q.votes });
  return node;
}

const roomHandlers = {
  'question.published': (d) => {
    if (page === 'host') { publishedNode(d); announce('A question was published.'); }
    if (page === 'moderate' && d.body) offerForMerge(d);
  },
  'question.answered': (a) => {
    if (page !== 'host') return;
    const node = findQuestion(document.getElementById('published'), a.question_id);
    if (!node) return;
    const li = document.createElement('li');
    li.className = 'answer';
    const who = document.createElement('strong');
    who.textContent = a.by;
    const body = document.createElement('span');
    body.textContent = `: ${a.body}`;
    li.append(who, body);
    node.querySelector('.answers').append(li);
  },
  'question.hidden': (d) => { if (page === 'host') findQuestion(document.getElementById('published'), d.id)?.remove(); },
  'question.votes': (d) => {
    const node = page === 'host' && findQuestion(document.getElementById('published'), d.id);
    if (node) fill(node, { votes: d.votes });
  },
  'room.state': (d) => { fill(root, { 'room-state': d.state }); announce(`The chat is now ${d.state}.`); },
};

const socket = connect(root, () => ({ last_seq: roomStream.lastSeq, staff_last_seq: staffStream.lastSeq }));
const resume = resumeVia(socket);
const roomStream = new EventStream('room', Number(root.dataset.lastSeq), (e) => roomHandlers[e.type]?.(e.data), resume);
const staffStream = new EventStream('staff', Number(root.dataset.staffLastSeq), (e) => staffHandlers[e.type]?.(e.data), resume);

showConnection(root, socket, { lost: 'Connection lost. Reconnecting…', failed: 'Cannot connect. Retrying…' });
socket.on('room_event', (e) => roomStream.receive([e]));
socket.on('room_events', (events) => roomStream.receive(events));
socket.on('staff_event', (e) => staffStream.receive([e]));
socket.on('staff_events', (events) => staffStream.receive(events));

root.addEventListener('submit', (event) => {
  const form = event.target.closest('form[data-command]');
  if (!form || !socket.connected) return; // no socket: the plain post works
  event.preventDefault();
  const data = Object.fromEntries(new FormData(form));
  if (form.hasAttribute('data-question-form')) data.question_id = new URL(form.action).searchParams.get('question_id');
  if (['tag', 'tag_poll'].includes(form.dataset.command)) data.theme_ids = new FormData(form).getAll('theme_ids');
  if (form.dataset.command === 'poll_open') data.options = data.options.split('\n').map((s) => s.trim()).filter(Boolean);
  socket.emit(form.dataset.command, data, (reply) => {
    let note = form.querySelector('.command-note');
    if (!note) {
      note = document.createElement('p');
      note.className = 'command-note';
      note.setAttribute('role', 'status');
      form.append(note);
    }
    note.textContent = reply && reply.ok ? 'Done.' : (reply ? reply.message : 'Not done: try again.');
    if (reply && reply.ok && form.dataset.command !== 'approve') {
      for (const field of form.querySelectorAll('textarea')) field.value = '';
    }
    if (reply && reply.ok && form.dataset.command === 'room_state') window.location.reload();
  });
});

const speakSection = document.getElementById('speak-live');
if (speakSection) speakLive(speakSection, socket);
