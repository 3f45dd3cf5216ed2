// Big-screen mode: published questions and answers arrive and the page scrolls to the newest;
// smoothly, or instantly when the viewer asked for reduced motion. No controls.
import { EventStream, connect, resumeVia, makeAnnouncer, showConnection, t } from './live.js';
import { captionsPanel } from './captions.js';
import { questionNode, addAnswer, removeQuestion } from './questions.js';

const root = document.getElementById('live');
const questions = document.getElementById('questions');
const announce = makeAnnouncer(root.querySelector('[data-field="announcer"]'), 8000);
const motion = window.matchMedia('(prefers-reduced-motion: reduce)');

function bringIntoView(node) {
  node.classList.add('arrived');
  const behavior = motion.matches ? 'instant' : 'smooth';
  root.dataset.scroll = behavior;
  node.scrollIntoView({ behavior, block: 'end' });
}

const captions = captionsPanel(document.getElementById('captions'), { controls: false });

const handlers = {
  'caption.final': (d) => captions.final(d),
  'question.published': (d) => { bringIntoView(questionNode(root, questions, d)); announce(t('new_question')); },
  'question.answered': (a) => { const node = addAnswer(questions, a); if (node) bringIntoView(node); },
  'question.hidden': (d) => removeQuestion(questions, d.id),
  'announcement.posted': (a) => {
    const el = root.querySelector('[data-field="announcement"]');
    el.textContent = a.body;
    el.hidden = false;
  },
  'room.state': (d) => { root.dataset.state = d.state; },
};

const socket = connect(root, () => ({ last_seq: stream.lastSeq }));
const stream = new EventStream('room', Number(root.dataset.lastSeq), (e) => handlers[e.type]?.(e.data), resumeVia(socket));
showConnection(root, socket, { lost: t('connection_lost'), failed: t('cannot_connect') });
socket.on('room_event', (e) => stream.receive([e]));
socket.on('room_events', (events) => stream.receive(events));
socket.on('caption_partial', (d) => captions.partial(d));
if (questions.lastElementChild) questions.lastElementChild.scrollIntoView({ block: 'end' });
