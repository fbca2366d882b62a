// The report's only script: open the step a link points to, expand or
// collapse every step, show only failures. Nothing is fetched.
(function () {
  'use strict';
  document.documentElement.classList.add('js');
  var steps = Array.prototype.slice.call(document.querySelectorAll('details.step'));

  function openLinkedStep() {
    var id = decodeURIComponent(window.location.hash.slice(1));
    var el = id ? document.getElementById(id) : null;
    if (el && el.tagName === 'DETAILS') {
      el.open = true;
    }
  }
  window.addEventListener('hashchange', openLinkedStep);
  openLinkedStep();

  function setAll(open) {
    steps.forEach(function (d) { d.open = open; });
  }
  document.getElementById('expand-all').addEventListener('click', function () { setAll(true); });
  document.getElementById('collapse-all').addEventListener('click', function () { setAll(false); });

  var onlyFailed = document.getElementById('only-failed');
  onlyFailed.addEventListener('change', function () {
    steps.forEach(function (d) {
      var status = d.getAttribute('data-status');
      d.hidden = onlyFailed.checked && status !== 'fail' && status !== 'warn';
    });
  });
})();
