// Progressive enhancement only: every page works without this file.
(() => {
  "use strict";

  // Copy buttons: <button data-copy="text">.
  document.addEventListener("click", async (event) => {
    const button = event.target.closest("button[data-copy]");
    if (!button) return;
    event.preventDefault();
    try {
      await navigator.clipboard.writeText(button.dataset.copy);
      const label = button.textContent;
      button.textContent = "Copied";
      setTimeout(() => { button.textContent = label; }, 1500);
    } catch {
      button.textContent = "Copy failed: select the text";
    }
  });

  // Live sections: <section id="…" data-live="5"> is re-read from the same page every n seconds.
  for (const section of document.querySelectorAll("[data-live]")) {
    const seconds = Math.max(1, Number(section.dataset.live) || 5);
    const refresh = async () => {
      try {
        const response = await fetch(location.href, { credentials: "same-origin", headers: { "X-Dashboard-Refresh": "1" } });
        if (response.redirected || !response.ok) { if (response.redirected) location.reload(); return; }
        const page = new DOMParser().parseFromString(await response.text(), "text/html");
        const fresh = page.getElementById(section.id);
        if (fresh && fresh.innerHTML !== section.innerHTML) section.innerHTML = fresh.innerHTML;
      } catch { /* the next turn tries again */ }
    };
    setInterval(refresh, seconds * 1000);
  }

  // The final destination of a link being edited, as the server merges it.
  const form = document.querySelector("form[data-preview]");
  const output = document.getElementById("destination-preview");
  if (form && output) {
    let timer;
    const field = (name) => form.querySelector(`[name="${name}"]`)?.value ?? "";
    const update = async () => {
      const query = new URLSearchParams({
        url: field("Input.Url"), source: field("Input.UtmSource"), medium: field("Input.UtmMedium"),
        campaign: field("Input.UtmCampaign"), term: field("Input.UtmTerm"), content: field("Input.UtmContent"),
      });
      const response = await fetch(`/dashboard/preview?${query}`, { credentials: "same-origin" });
      if (response.ok) output.textContent = (await response.text()) || "Enter a destination URL to see where the link goes.";
    };
    form.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(update, 200); });
  }

  // A checked campaign CSV, created part by part so that a progress bar can follow; without this the form posts every
  // part at once. Each part carries an Idempotency-Key, so sending it again after a lost answer creates nothing twice.
  const importForm = document.querySelector("form[data-import]");
  if (importForm) {
    const number = (n) => n.toLocaleString("en-US");
    const count = (n, one, many) => `${number(n)} ${n === 1 ? one : many}`;
    const run = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
    const totals = { created: 0, existing: 0, failed: 0, rows: 0, csv: "" };
    let next = 0;
    let seconds = 0;

    const problemOf = async (response) => {
      try { return (await response.json()).detail || response.statusText; } catch { return response.statusText; }
    };

    // Network errors, 5xx, 429 and 409 (the first send still running) are tried again with the same key.
    const send = async (part, key) => {
      const body = new URLSearchParams({
        __RequestVerificationToken: importForm.querySelector("input[name='__RequestVerificationToken']").value,
        csv: part.value,
        first: part.dataset.first,
      });
      for (let attempt = 1; ; attempt++) {
        try {
          const response = await fetch(importForm.dataset.import, {
            method: "POST", body, credentials: "same-origin", headers: { "Idempotency-Key": key },
          });
          if (response.redirected) return { problem: "the session has ended; sign in again" };
          if (response.ok) {
            const rows = new DOMParser().parseFromString(await response.text(), "text/html").querySelector("tbody[data-csv]");
            return rows ? { rows } : { problem: "the answer could not be read" };
          }
          if (response.status < 500 && response.status !== 429 && response.status !== 409) return { problem: await problemOf(response) };
        } catch { /* no answer: try again */ }
        if (attempt === 5) return { problem: "the server did not answer" };
        await new Promise((resolve) => setTimeout(resolve, 500 * 2 ** attempt));
      }
    };

    importForm.addEventListener("submit", async (event) => {
      const parts = importForm.querySelectorAll("textarea[name='Parts']");
      if (parts.length === 0) return;
      event.preventDefault();
      const button = importForm.querySelector("button[type='submit']");
      const bar = document.getElementById("csv-progress-bar");
      const text = document.getElementById("csv-progress-text");
      const rate = document.getElementById("csv-rate");
      const total = Number(bar.max);
      importForm.querySelector(".alert")?.remove();
      button.disabled = true;
      document.getElementById("csv-progress").hidden = false;

      for (; next < parts.length; next++) {
        const started = performance.now();
        const answer = await send(parts[next], `${run}-${next}`);
        if (answer.problem) {
          const alert = document.createElement("p");
          alert.className = "alert";
          alert.setAttribute("role", "alert");
          alert.textContent = `Creating stopped after ${number(totals.rows)} of ${number(total)} rows: ${answer.problem}. ` +
            "The links created so far are kept; press the button to go on from there.";
          importForm.prepend(alert);
          button.disabled = false;
          return;
        }

        const rows = answer.rows;
        totals.created += Number(rows.dataset.created);
        totals.existing += Number(rows.dataset.existing);
        totals.failed += Number(rows.dataset.failed);
        totals.rows += rows.rows.length;
        // Every part's CSV has the header; the results keep the first one.
        totals.csv += next === 0 ? rows.dataset.csv : rows.dataset.csv.slice(rows.dataset.csv.indexOf("\n") + 1);
        for (const row of Array.from(rows.rows)) document.getElementById(row.id)?.replaceWith(row);
        seconds += (performance.now() - started) / 1000;
        bar.value = totals.rows;
        bar.textContent = text.textContent = `${number(totals.rows)} of ${number(total)}`;
        rate.textContent = `${number(Math.round(totals.rows / Math.max(seconds, 0.001)))} rows a second`;
      }

      document.getElementById("csv-results").textContent = "Results";
      document.getElementById("csv-summary").textContent = `${count(totals.created, "link created", "links created")}, ` +
        `${number(totals.existing)} already existed, ${count(totals.failed, "row failed", "rows failed")}.`;
      const download = document.getElementById("csv-download");
      download.querySelector("a").href = "data:text/csv;charset=utf-8," + encodeURIComponent(totals.csv);
      download.hidden = false;
      importForm.replaceChildren();
    });
  }
})();
