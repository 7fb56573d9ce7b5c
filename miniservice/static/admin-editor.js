// Rule editor: after a band row was added, moved or removed (a full page round trip, so the editor
// works without this file), bring that row back into view and put the cursor in it.
document.addEventListener("DOMContentLoaded", function () {
  var row = document.querySelector("tbody.band.focus");
  if (!row) { return; }
  row.scrollIntoView({ block: "center" });
  var input = row.querySelector("input:not([type=checkbox]), select, textarea");
  if (input) { input.focus({ preventScroll: true }); }
});
