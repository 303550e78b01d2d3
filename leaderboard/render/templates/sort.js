// Click a column header to sort its table; click again to reverse. Empty cells sort last.
(function () {
  "use strict";
  function key(cell, numeric) {
    var v = cell.getAttribute("data-v");
    if (v === null || v === "" || v === "None" || v === "nan") { return null; }
    return numeric ? parseFloat(v) : v;
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var leaves = Array.prototype.filter.call(table.querySelectorAll("thead th"), function (th) {
      return !th.classList.contains("group");
    });
    leaves.forEach(function (th, col) {
      th.addEventListener("click", function () {
        var numeric = th.getAttribute("data-type") === "num";
        var asc = !th.classList.contains("asc");
        leaves.forEach(function (other) { other.classList.remove("asc", "desc"); });
        th.classList.add(asc ? "asc" : "desc");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = key(a.cells[col], numeric), y = key(b.cells[col], numeric);
          if (x === null || (numeric && isNaN(x))) { return 1; }
          if (y === null || (numeric && isNaN(y))) { return -1; }
          var d = numeric ? x - y : (x < y ? -1 : x > y ? 1 : 0);
          return asc ? d : -d;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
})();
