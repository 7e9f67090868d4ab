// «Подтвердить» stays disabled until «Согласен» is ticked. The server checks it again.
const agree = document.getElementById('agree');
const confirm = document.getElementById('confirm');
if (agree && confirm) {
  const sync = () => { confirm.disabled = !agree.checked; };
  agree.addEventListener('change', sync);
  sync();
}
