/* A console notice ("Campagne créée") comes from ?done= in the address a form's answer led
 * to. Once shown, the parameter leaves the address bar, so a reload, a bookmark or the
 * back button does not show the notice again. htmx pushes the address of a boosted
 * answer itself, so this runs after each push as well as on a full load. */
(function () {
  function forgetDone() {
    var url = new URL(window.location.href);
    if (!url.searchParams.has('done')) return;
    url.searchParams.delete('done');
    window.history.replaceState(window.history.state, '', url.pathname + url.search + url.hash);
  }
  forgetDone();
  document.addEventListener('htmx:pushedIntoHistory', forgetDone);
  document.addEventListener('htmx:replacedInHistory', forgetDone);
})();
