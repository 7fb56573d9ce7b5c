// The demo phone's user picker submits on change (kept out of the page: the CSP allows no inline script).
document.querySelectorAll("select[data-submit-on-change]").forEach(function (select) {
  select.addEventListener("change", function () { select.form.submit(); });
});
