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
})();
