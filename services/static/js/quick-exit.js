// "Leave this site quickly": replace this page (so Back does not return to it) with a neutral
// site; Esc pressed twice does the same.
const link = document.querySelector('[data-quick-exit]');
if (link) {
  const leave = (event) => {
    if (event) event.preventDefault();
    document.body.hidden = true;
    try {
      window.top.location.replace(link.href); // inside an embed, leave the whole page
    } catch (err) {
      window.location.replace(link.href);
    }
  };
  link.addEventListener('click', leave);
  let lastEsc = 0;
  document.addEventListener('keydown', (event) => {
    if (event.key !== 'Escape') return;
    const now = Date.now();
    if (now - lastEsc < 1500) leave();
    lastEsc = now;
  });
}
