// The console's grouped menus (<details>): one open at a time; Escape, or focus or a click
// elsewhere, closes it and (for Escape) puts focus back on its button.
const menus = [...document.querySelectorAll('.console-nav details.nav-menu')];

function closeAll(except) {
  for (const menu of menus) if (menu !== except) menu.open = false;
}

for (const menu of menus) {
  menu.addEventListener('toggle', () => { if (menu.open) closeAll(menu); });
  menu.addEventListener('keydown', (event) => {
    if (event.key !== 'Escape' || !menu.open) return;
    menu.open = false;
    menu.querySelector('summary').focus();
  });
}

const insideAMenu = (target) => menus.some((menu) => menu.contains(target));
document.addEventListener('focusin', (event) => { if (!insideAMenu(event.target)) closeAll(); });
document.addEventListener('click', (event) => { if (!insideAMenu(event.target)) closeAll(); });
