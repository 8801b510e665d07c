// Sortable tables: click (or press Enter on) a header to sort; again to reverse.
// Numbers sort by the raw value in data-sort; empty cells always go last.
(function () {
  "use strict";
  function value(cell, numeric) {
    if (!cell) { return null; }
    var raw = numeric ? cell.getAttribute("data-sort") : cell.textContent.trim();
    if (raw === null || raw === "" || raw === "\u2013") { return null; }
    if (numeric) { var n = parseFloat(raw); return isNaN(n) ? null : n; }
    return raw.toLowerCase();
  }
  function sortTable(table, th) {
    var col = parseInt(th.getAttribute("data-col"), 10);
    var numeric = th.getAttribute("data-type") === "num";
    var dir = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
    var heads = table.tHead.querySelectorAll("th[aria-sort]");
    for (var i = 0; i < heads.length; i++) { heads[i].removeAttribute("aria-sort"); }
    th.setAttribute("aria-sort", dir);
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows).map(function (r, i) {
      return { row: r, key: value(r.cells[col], numeric), index: i };
    });
    var sign = dir === "ascending" ? 1 : -1;
    rows.sort(function (a, b) {
      if (a.key === null && b.key === null) { return a.index - b.index; }
      if (a.key === null) { return 1; }
      if (b.key === null) { return -1; }
      if (a.key < b.key) { return -sign; }
      if (a.key > b.key) { return sign; }
      return a.index - b.index;
    });
    var frag = document.createDocumentFragment();
    rows.forEach(function (r) { frag.appendChild(r.row); });
    body.appendChild(frag);
  }
  var tables = document.querySelectorAll("table.sortable");
  Array.prototype.forEach.call(tables, function (table) {
    Array.prototype.forEach.call(table.tHead.querySelectorAll("th[data-col]"), function (th) {
      th.addEventListener("click", function () { sortTable(table, th); });
    });
  });
  // On a phone the contents would fill the first screen: start folded (one tap opens it).
  var toc = document.querySelector("nav.toc details");
  if (toc && window.matchMedia && window.matchMedia("(max-width: 900px)").matches) { toc.removeAttribute("open"); }
  // Printing shows every collapsed block (tracebacks, the contents).
  window.addEventListener("beforeprint", function () {
    Array.prototype.forEach.call(document.querySelectorAll("details"), function (d) { d.setAttribute("open", ""); });
  });
})();
