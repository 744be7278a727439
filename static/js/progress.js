// Live progress of a run: poll its JSON until it is over, then reload once for the figures.
(function () {
  const box = document.getElementById("progress");
  if (!box) return;
  const active = new Set(["pending", "generating", "executing", "grading"]);
  if (!active.has(box.dataset.status)) return;
  const bar = document.getElementById("progress-bar");
  const text = document.getElementById("progress-text");
  const status = document.getElementById("progress-status");
  async function poll() {
    try {
      const response = await fetch(box.dataset.url, { headers: { Accept: "application/json" } });
      const data = await response.json();
      bar.max = data.total;
      bar.value = data.executed;
      text.textContent = data.line;
      status.textContent = data.status;
      status.className = `status ${data.status}`;
      if (!active.has(data.status)) { window.location.reload(); return; }
    } catch (error) { /* the next poll tries again */ }
    setTimeout(poll, 2000);
  }
  setTimeout(poll, 2000);
})();
