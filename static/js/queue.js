// Live queue: poll the submissions JSON and update each row's state, reason and progress in place.
(function () {
  const table = document.getElementById("queue");
  if (!table) return;
  const settled = new Set(["finished", "failed", "rejected", "cancelled"]);
  function update(row, entry) {
    const state = row.querySelector('[data-field="state"]');
    if (state.textContent !== entry.state) {
      state.textContent = entry.state;
      state.className = "status " + entry.state;
      if (entry.state !== "pending") row.querySelectorAll(".actions form").forEach((form) => form.remove());
    }
    row.querySelector('[data-field="reason"]').textContent = entry.reason;
    const bar = row.querySelector('[data-field="progress"]');
    bar.max = entry.total || 1;
    bar.value = entry.executed;
    row.querySelector('[data-field="progress-text"]').textContent = entry.total
      ? `${entry.generated} generated, ${entry.executed} executed of ${entry.total}`
      : "";
  }
  async function poll() {
    let active = false;
    try {
      const response = await fetch(table.dataset.url, { headers: { Accept: "application/json" } });
      const data = await response.json();
      for (const entry of data.rows) {
        const row = document.getElementById("submission-" + entry.id);
        if (row) update(row, entry);
        if (!settled.has(entry.state)) active = true;
      }
    } catch (error) {
      active = true; // the next poll tries again
    }
    if (active) setTimeout(poll, 2000);
  }
  setTimeout(poll, 2000);
})();
