/* The dashboard's pages: each widget fetches its endpoint of /dashboard/api/ and draws a
   chart (Chart.js, served from our own static files) with an accessible table of the same
   numbers beside it, and a CSV download of every table. */
(function () {
  "use strict";
  const spec = JSON.parse(document.getElementById("dashboard-spec").textContent);
  const COLORS = ["#2b6cb0", "#dd6b20", "#38a169", "#805ad5", "#d53f8c", "#718096", "#d69e2e", "#319795"];
  const answers = new Map();
  const status = document.getElementById("status");

  function fetchAnswer(endpoint, query) {
    const params = new URLSearchParams(Object.assign({}, spec.query, query || {}));
    const url = spec.api + encodeURIComponent(endpoint) + "?" + params.toString();
    if (!answers.has(url)) {
      answers.set(url, fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(async (response) => {
          const body = await response.json().catch(() => ({}));
          if (!response.ok) throw new Error(body.error || response.statusText);
          return body;
        }));
    }
    return answers.get(url);
  }

  function element(tag, attributes, text) {
    const node = document.createElement(tag);
    Object.entries(attributes || {}).forEach(([key, value]) => node.setAttribute(key, value));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function formatCell(value) {
    if (value === null || value === undefined) return "–";
    if (typeof value === "number") return value.toLocaleString("en");
    return String(value);
  }

  function csvQuote(value) {
    const text = value === null || value === undefined ? "" : String(value);
    return /[",\n]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
  }

  /* A table of `columns` ({key, title}) over `rows`, with its CSV download. */
  function dataTable(widget, columns, rows) {
    const wrapper = element("div", { class: "table-wrapper" });
    const box = element("div", { class: "table-box" });
    const table = element("table", { class: "data" });
    table.appendChild(element("caption", {}, widget.title + " (" + spec.query.start + " – " + spec.query.end + ", " + spec.query.tz + ")"));
    const head = table.createTHead().insertRow();
    columns.forEach((column) => head.appendChild(element("th", { scope: "col" }, column.title)));
    const body = table.createTBody();
    rows.forEach((row) => {
      const tr = body.insertRow();
      columns.forEach((column, index) => {
        const cell = element(index === 0 ? "th" : "td", index === 0 ? { scope: "row" } : {});
        if (index === 0 && widget.link && row[widget.link]) {
          cell.appendChild(element("a", { href: row[widget.link], rel: "noopener noreferrer" }, formatCell(row[column.key])));
        } else {
          cell.textContent = formatCell(row[column.key]);
        }
        tr.appendChild(cell);
      });
    });
    box.appendChild(table);
    wrapper.appendChild(box);
    const button = element("button", { type: "button", class: "csv" }, "Download CSV");
    button.addEventListener("click", () => {
      const lines = [columns.map((c) => csvQuote(c.title)).join(",")]
        .concat(rows.map((row) => columns.map((c) => csvQuote(row[c.key])).join(",")));
      const blob = new Blob([lines.join("\r\n") + "\r\n"], { type: "text/csv;charset=utf-8" });
      const link = element("a", { href: URL.createObjectURL(blob), download: widget.id + "_" + spec.query.start + "_" + spec.query.end + ".csv" });
      document.body.appendChild(link);
      link.click();
      setTimeout(() => { URL.revokeObjectURL(link.href); link.remove(); }, 0);
    });
    wrapper.appendChild(button);  // outside the scrolling box: always in sight
    return wrapper;
  }

  function columnsOf(widget) {
    const label = widget.label.replace(/_/g, " ");
    return [{ key: widget.label, title: label.charAt(0).toUpperCase() + label.slice(1) }]
      .concat(widget.series.map((s) => ({ key: s.key, title: s.title })));
  }

  function drawChart(widget, rows, container) {
    const box = element("div", { class: "chart-box" });
    const canvas = element("canvas", { role: "img", "aria-label": widget.title + ": chart; the table beside it holds the same numbers" });
    box.appendChild(canvas);
    container.appendChild(box);
    const labels = rows.map((row) => row[widget.label]);
    const doughnut = widget.kind === "doughnut";
    const datasets = widget.series.map((s, index) => ({
      label: s.title,
      data: rows.map((row) => row[s.key]),
      backgroundColor: doughnut ? rows.map((_, i) => COLORS[i % COLORS.length]) : COLORS[index % COLORS.length],
      borderColor: doughnut ? "#fff" : COLORS[index % COLORS.length],
      pointRadius: rows.length > 60 ? 0 : 2,
      borderWidth: doughnut ? 1 : 2,
    }));
    const chart = new window.Chart(canvas, {
      type: widget.kind,
      data: { labels, datasets: doughnut ? datasets.slice(0, 1) : datasets },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        scales: doughnut ? {} : { y: { beginAtZero: true }, x: { ticks: { autoSkip: true, maxTicksLimit: 14 } } },
      },
    });
    canvas.dataset.drawn = String(chart.data.labels.length);
  }

  /* Shade of a value from white to the first colour, by its share of the largest. */
  function shade(value, max) {
    const share = max > 0 ? Math.max(0, Math.min(1, value / max)) : 0;
    return "hsl(210, 62%, " + Math.round(97 - share * 55) + "%)";
  }

  /* kind "matrix" (heatmaps, cohort triangles): answer[widget.rows] holds the rows and
     answer[widget.rows + "_columns"] their value columns. Drawn as a heatmap on a canvas
     and as the same numbers in a table shaded by value; a cell whose period is not over
     (row[key + "_incomplete"]) is outlined on the canvas and marked "*" in the table and
     the CSV, and an empty cell (not begun) stays blank. */
  function renderMatrix(widget, answer, container) {
    const rows = answer[widget.rows] || [];
    const columns = answer[widget.rows + "_columns"] || [];
    const shaded = columns.filter((c) => c.key !== "users");
    let max = 0;
    rows.forEach((row) => shaded.forEach((c) => {
      if (typeof row[c.key] === "number" && row[c.key] > max) max = row[c.key];
    }));
    container.textContent = "";
    const box = element("div", { class: "chart-box" });
    const canvas = element("canvas", { role: "img", "aria-label": widget.title + ": heatmap; the table beside it holds the same numbers" });
    box.appendChild(canvas);
    container.appendChild(box);
    const ratio = window.devicePixelRatio || 1;
    const width = box.clientWidth || 600;
    const height = box.clientHeight || 320;
    canvas.width = width * ratio;
    canvas.height = height * ratio;
    canvas.style.width = width + "px";
    canvas.style.height = height + "px";
    const context = canvas.getContext("2d");
    context.scale(ratio, ratio);
    context.font = "11px system-ui, sans-serif";
    context.textBaseline = "middle";
    context.fillStyle = "#333";
    const left = 84;
    const top = 18;
    const cellWidth = (width - left) / Math.max(1, shaded.length);
    const cellHeight = Math.min(28, (height - top) / Math.max(1, rows.length));
    if (!rows.length) context.fillText("No data in this period.", 4, top);
    shaded.forEach((c, j) => {
      if (shaded.length <= 26 || j % 2 === 0) context.fillText(c.title.replace(/ %$/, ""), left + j * cellWidth + 2, top / 2);
    });
    rows.forEach((row, i) => {
      const y = top + i * cellHeight;
      context.fillStyle = "#333";
      context.fillText(String(row[widget.label]), 2, y + cellHeight / 2);
      shaded.forEach((c, j) => {
        const value = row[c.key];
        const x = left + j * cellWidth;
        context.fillStyle = typeof value === "number" ? shade(value, max) : "#f3f3f3";
        context.fillRect(x + 1, y + 1, cellWidth - 2, cellHeight - 2);
        if (row[c.key + "_incomplete"]) {
          context.strokeStyle = "#444";
          context.setLineDash([3, 2]);
          context.strokeRect(x + 1.5, y + 1.5, cellWidth - 3, cellHeight - 3);
          context.setLineDash([]);
        }
      });
    });
    canvas.dataset.drawn = String(rows.length);
    const shown = rows.map((row) => {
      const copy = Object.assign({}, row);
      columns.forEach((c) => {
        if (row[c.key + "_incomplete"] && row[c.key] !== null && row[c.key] !== undefined) copy[c.key] = row[c.key] + " *";
      });
      return copy;
    });
    const tableColumns = [{ key: widget.label, title: widget.label.replace(/_/g, " ") }].concat(columns);
    const tableBox = dataTable(widget, tableColumns, shown);
    tableBox.querySelectorAll("tbody tr").forEach((tr, i) => {
      columns.forEach((c, j) => {
        const value = rows[i][c.key];
        const cell = tr.children[j + 1];
        if (c.key !== "users" && typeof value === "number") cell.style.background = shade(value, max);
        if (rows[i][c.key + "_incomplete"]) cell.title = "not over yet: may still grow";
      });
    });
    if (rows.some((row) => columns.some((c) => row[c.key + "_incomplete"]))) {
      tableBox.appendChild(element("p", { class: "note" }, "* period not over yet: the figure may still grow."));
    }
    container.appendChild(tableBox);
  }

  function renderRows(widget, answer, container) {
    const rows = (widget.rows ? answer[widget.rows] : answer) || [];
    container.textContent = "";
    if (widget.kind !== "table") {
      // Empty periods still get their (empty) axes, so the layout does not jump.
      drawChart(widget, rows, container);
      if (!rows.length) container.appendChild(element("p", { class: "note" }, "No data in this period."));
    }
    container.appendChild(dataTable(widget, columnsOf(widget), rows));
  }

  const CARD_METRICS = [["users_total", "Users (total)"], ["users_new", "New users"], ["downloads", "Downloads"], ["active_users", "Active users"]];

  function changeText(value) {
    if (value === null || value === undefined) return "–";
    return (value > 0 ? "+" : "") + value.toFixed(1) + " %";
  }

  async function renderCards(widget, container) {
    const today = new Date(spec.today + "T00:00:00Z");
    const back = (days) => new Date(today.getTime() - (days - 1) * 86400000).toISOString().slice(0, 10);
    const periods = [["Today", back(1)], ["7 days", back(7)], ["30 days", back(30)]];
    const answers = await Promise.all(periods.map(([, start]) => fetchAnswer("overview", { start, end: spec.today })));
    const selected = await fetchAnswer("overview", {});
    const columns = [{ key: "metric", title: "Metric" }];
    periods.forEach(([title], i) => {
      columns.push({ key: "p" + i, title }, { key: "c" + i, title: title + ": change vs previous" });
    });
    columns.push({ key: "sel", title: spec.query.start + " – " + spec.query.end }, { key: "selc", title: "change vs previous period" });
    const rows = CARD_METRICS.map(([key, title]) => {
      const row = { metric: title };
      answers.forEach((answer, i) => { row["p" + i] = answer[key]; row["c" + i] = changeText(answer.change_percent[key]); });
      row.sel = selected[key];
      row.selc = changeText(selected.change_percent[key]);
      return row;
    });
    container.textContent = "";
    const cards = element("div", { class: "cards" });
    periods.concat([[columns[columns.length - 2].title]]).forEach(([title], i) => {
      const key = i < periods.length ? "p" + i : "sel";
      const change = i < periods.length ? "c" + i : "selc";
      const card = element("div", { class: "card" });
      card.appendChild(element("h3", {}, title));
      const list = element("dl");
      rows.forEach((row) => {
        list.appendChild(element("dt", {}, row.metric));
        list.appendChild(element("dd", {}, formatCell(row[key])));
        const delta = element("dd", { class: row[change].startsWith("+") ? "up" : row[change].startsWith("-") ? "down" : "" }, row[change]);
        list.appendChild(delta);
      });
      card.appendChild(list);
      cards.appendChild(card);
    });
    container.appendChild(cards);
    const details = element("details");
    details.appendChild(element("summary", {}, "The same numbers as a table"));
    details.appendChild(dataTable(widget, columns, rows));
    container.appendChild(details);
  }

  async function render(widget) {
    const container = document.querySelector("#" + CSS.escape(widget.id) + " .body");
    try {
      if (widget.kind === "cards") await renderCards(widget, container);
      else if (widget.kind === "matrix") renderMatrix(widget, await fetchAnswer(widget.endpoint, widget.query), container);
      else renderRows(widget, await fetchAnswer(widget.endpoint, widget.query), container);
    } catch (error) {
      container.textContent = "";
      container.appendChild(element("p", { class: "error", role: "alert" }, "Could not load: " + error.message));
    }
  }

  Promise.all(spec.widgets.map(render)).then(() => {
    status.textContent = "Updated " + new Date().toLocaleTimeString();
    document.body.dataset.ready = "1";
  });
})();
