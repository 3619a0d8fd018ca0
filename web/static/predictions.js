// Predictions pages: sort a table by a clicked column, and reset a form's dependent choices.
// The pages work without it (the server ranks and pages); this only helps.
(function () {
  "use strict";

  function cellValue(row, index, kind) {
    var cell = row.cells[index];
    if (!cell) return kind === "num" ? -Infinity : "";
    var raw = cell.hasAttribute("data-value") ? cell.getAttribute("data-value") : cell.textContent;
    if (kind === "num") {
      var x = parseFloat(raw);
      return isNaN(x) ? -Infinity : x;
    }
    return raw.trim().toLowerCase();
  }

  function sortBy(table, th) {
    var index = Array.prototype.indexOf.call(th.parentNode.children, th);
    var kind = th.getAttribute("data-sort");
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellValue(a, index, kind), y = cellValue(b, index, kind);
      var c = x < y ? -1 : x > y ? 1 : 0;
      return ascending ? c : -c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
    Array.prototype.forEach.call(th.parentNode.children, function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  }

  document.querySelectorAll("table.sortable").forEach(function (table) {
    table.querySelectorAll("th[data-sort]").forEach(function (th) {
      th.tabIndex = 0;
      th.addEventListener("click", function () { sortBy(table, th); });
      th.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortBy(table, th); }
      });
    });
  });

  // A new species or run makes the run and trait chosen before meaningless: drop them and reload.
  document.querySelectorAll("select[data-clears]").forEach(function (select) {
    select.addEventListener("change", function () {
      var form = select.form;
      select.getAttribute("data-clears").split(" ").forEach(function (name) {
        var other = form.elements[name];
        if (other) other.disabled = true;
      });
      form.querySelectorAll("[data-trait-input]").forEach(function (input) { input.disabled = true; });
      form.submit();
    });
  });
})();
