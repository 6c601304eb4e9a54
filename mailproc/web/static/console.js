// The console's only script (CSP allows no inline script): print buttons, and the live
// check and preview of the template and KB editors. Every page works without it.
document.addEventListener("click", (event) => {
  if (event.target.matches("[data-print]")) { event.preventDefault(); window.print(); }
});

function liveCheck(form, url) {
  let timer = null;
  let sent = 0;
  const run = async () => {
    const ticket = ++sent;
    const body = new FormData(form);
    body.delete("do");
    const response = await fetch(url, { method: "POST", body, credentials: "same-origin" });
    if (!response.ok || ticket !== sent) return;
    const data = await response.json();
    form.querySelectorAll("[data-problems]").forEach((list) => {
      const name = list.dataset.problems;
      const found = name === "*"
        ? Object.entries(data.problems).filter(([n]) => !form.querySelector(`[name="source:${n}"]`))
            .flatMap(([n, ps]) => ps.map(([line, msg]) => `${n}:${line}: ${msg}`))
        : (data.problems[name] || []).map(([line, msg]) => `line ${line}: ${msg}`);
      list.replaceChildren(...found.map((text) => {
        const li = document.createElement("li"); li.textContent = text; return li;
      }));
    });
    const preview = data.preview || {};
    const part = (key) => form.querySelector(`[data-preview="${key}"]`);
    if (part("subject")) part("subject").textContent = preview.subject || "";
    if (part("text")) part("text").textContent = preview.text || "";
    if (part("html")) {
      // Sanitised on the server (nh3) and under a CSP without inline script.
      part("html").innerHTML = preview.html || "";
      part("html").hidden = !preview.html;
    }
    if (part("error")) { part("error").textContent = preview.error || ""; part("error").hidden = !preview.error; }
    form.dataset.checked = String(ticket);
  };
  form.addEventListener("input", (event) => {
    if (!event.target.matches("[data-check]")) return;
    clearTimeout(timer);
    timer = setTimeout(run, 350);
  });
}

const editor = document.getElementById("editor");
if (editor && editor.dataset.live) liveCheck(editor, editor.dataset.live);
