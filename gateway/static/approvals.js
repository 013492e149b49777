// The pending-approvals page updates itself: the server tells it (server-sent events) when
// a request for this person arrives or ends, and the page reloads. It says which request it
// shows, so one that arrived while the page loaded is not missed. Without script the page
// still works (reload by hand). Once an answer is being sent, changes are not followed (the
// answer's own page comes next).
(function () {
  if (!window.EventSource) return;
  var pending = document.getElementById('pending');
  var shown = pending ? pending.getAttribute('data-id') || '' : '';
  var source = new EventSource('/portal/approvals/events?shown=' + encodeURIComponent(shown));
  var answering = false;
  document.addEventListener('submit', function () {
    answering = true;
    source.close();
  });
  source.addEventListener('changed', function () {
    if (answering) return;
    source.close();
    window.location.reload();
  });
})();
