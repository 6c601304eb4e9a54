// The console's only script: print buttons and the template editor's live check and preview.
// Loaded from /static (CSP allows no inline script).
document.addEventListener("click", (event) => {
  if (event.target.matches("[data-print]")) { event.preventDefault(); window.print(); }
});
