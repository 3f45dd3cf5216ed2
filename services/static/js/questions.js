// Published questions and their answers, shared by the room page, the embed and the big screen.
import { fill, cloneTemplate } from './live.js';

export function findQuestion(list, id) {
  return list.querySelector(`[data-question-id="${CSS.escape(id)}"]`);
}

export function questionNode(root, list, q) {
  let node = findQuestion(list, q.id);
  if (node) return node;
  node = fill(cloneTemplate('tpl-question'), { display_name: q.display_name, body: q.body, votes: q.votes });
  node.dataset.questionId = q.id;
  node.querySelector('[data-field="advance"]').hidden = !q.asked_in_advance;
  list.append(node);
  const empty = root.querySelector('[data-empty-for="questions"]');
  if (empty) empty.hidden = true;
  return node;
}

// Adds an answer under its question; returns the new node, or null if it was already there.
export function addAnswer(list, a) {
  const question = findQuestion(list, a.question_id);
  if (!question || question.querySelector(`[data-answer-id="${CSS.escape(a.id)}"]`)) return null;
  const node = fill(cloneTemplate('tpl-answer'), { by: a.by, title: a.title ? `, ${a.title}` : '', body: a.body });
  node.dataset.answerId = a.id;
  const afterChat = node.querySelector('[data-field="after-chat"]');
  if (afterChat) afterChat.hidden = !a.after_chat;
  question.querySelector('.answers').append(node);
  return node;
}

export function removeQuestion(list, id) {
  findQuestion(list, id)?.remove();
}
