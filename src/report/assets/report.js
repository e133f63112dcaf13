// heapscan report: sortable and filterable tables, and a record of anything that went wrong
// (script errors, blocked requests) in the body's data-errors attribute, for people and for the
// browser test.
// Data is only ever read and written as text (textContent, dataset), never parsed as HTML.
(function () {
  'use strict';
  var problems = [];

  function publish() {
    var body = document.body;
    if (!body) return;
    body.dataset.errorCount = String(problems.length);
    body.dataset.errors = problems.join(' | ');
  }

  function note(kind, text) {
    problems.push(kind + ': ' + text);
    publish();
  }

  window.addEventListener('error', function (e) {
    note('error', (e.message || 'error') + ' at ' + (e.filename || '?') + ':' + (e.lineno || 0));
  });
  window.addEventListener('unhandledrejection', function (e) {
    note('rejection', String(e.reason));
  });
  document.addEventListener('securitypolicyviolation', function (e) {
    note('csp', e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline'));
  });

  function cellKey(row, column, numeric) {
    var cell = row.cells[column];
    if (!cell) return numeric ? -Infinity : '';
    if (numeric) {
      var v = parseFloat(cell.dataset.v);
      return isNaN(v) ? -Infinity : v;
    }
    return cell.textContent.trim().toLowerCase();
  }

  function sortBy(table, column, th) {
    var numeric = th.classList.contains('n');
    var current = th.getAttribute('aria-sort');
    var descending = current ? current === 'ascending' : numeric;
    var heads = table.tHead.rows[0].cells;
    for (var i = 0; i < heads.length; i++) heads[i].removeAttribute('aria-sort');
    th.setAttribute('aria-sort', descending ? 'descending' : 'ascending');
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.forEach(function (row, index) { row.dataset.order = String(index); });
    rows.sort(function (a, b) {
      var x = cellKey(a, column, numeric);
      var y = cellKey(b, column, numeric);
      var c = x < y ? -1 : x > y ? 1 : 0;
      if (descending) c = -c;
      return c || Number(a.dataset.order) - Number(b.dataset.order);
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }

  function makeSortable(table) {
    if (!table.tHead || !table.tBodies.length) return;
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, column) {
      var button = document.createElement('button');
      button.type = 'button';
      button.textContent = th.textContent;
      button.title = 'Sort by ' + th.textContent;
      th.textContent = '';
      th.appendChild(button);
      button.addEventListener('click', function () { sortBy(table, column, th); });
    });
  }

  function makeFilterable(input) {
    var table = document.getElementById(input.dataset.table);
    var count = document.getElementById(input.dataset.table + '-count');
    if (!table || !table.tBodies.length) return;
    var rows = table.tBodies[0].rows;
    function apply() {
      var query = input.value.trim().toLowerCase();
      var shown = 0;
      for (var i = 0; i < rows.length; i++) {
        var hit = !query || rows[i].textContent.toLowerCase().indexOf(query) >= 0;
        rows[i].hidden = !hit;
        if (hit) shown++;
      }
      if (count) count.textContent = shown + ' of ' + rows.length + ' rows';
    }
    input.addEventListener('input', apply);
    apply();
  }

  function start() {
    publish();
    var body = document.body;
    try {
      var data = document.getElementById('heapscan-data');
      var model = JSON.parse(data ? data.textContent : 'null');
      body.dataset.model = model && model.snapshots ? 'ok' : 'missing';
      body.dataset.snapshots = String(model && model.snapshots ? model.snapshots.length : 0);
    } catch (err) {
      note('model', String(err));
    }
    var tables = document.querySelectorAll('table.data');
    Array.prototype.forEach.call(tables, makeSortable);
    Array.prototype.forEach.call(document.querySelectorAll('input.filter'), makeFilterable);
    body.dataset.tables = String(tables.length);
    body.dataset.ready = '1';
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
  window.addEventListener('load', function () {
    var resources = window.performance && performance.getEntriesByType
      ? performance.getEntriesByType('resource').length : 0;
    document.body.dataset.resources = String(resources);
    document.body.dataset.loaded = '1';
  });
})();
