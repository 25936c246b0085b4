// Optional row filter for the long tables of the explore pages; without it the full table
// is still there. Its label comes from the page (data-filter), so the page's language is kept.
"use strict";
document.querySelectorAll("table[data-filter]").forEach((table, i) => {
  const box = document.createElement("p");
  box.className = "filter";
  const label = document.createElement("label");
  const input = document.createElement("input");
  input.type = "search";
  input.id = "filter-" + i;
  label.htmlFor = input.id;
  label.textContent = table.dataset.filter;
  box.append(label, input);
  table.before(box);
  const rows = Array.from(table.tBodies[0].rows);
  input.addEventListener("input", () => {
    const q = input.value.trim().toLocaleLowerCase();
    rows.forEach((row) => {
      row.hidden = q !== "" && !row.textContent.toLocaleLowerCase().includes(q);
    });
  });
});
