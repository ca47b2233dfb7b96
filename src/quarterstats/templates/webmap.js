// The interactive district map (quarterstats.webmap). Plain JavaScript, no library, no network access.
// Reads the JSON block "kartendaten"; names and values go into the page only as text (textContent,
// setAttribute), never as markup. ASCII only: the file is inlined into the page.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("kartendaten").textContent);
  var svg = document.getElementById("karte");
  var paths = Array.prototype.slice.call(svg.querySelectorAll("path.district"));
  var selectIndicator = document.getElementById("indikator");
  var selectDate = document.getElementById("stichtag");
  var highlight = document.getElementById("hervorhebung");  // the outline of the active district, on top
  var tooltip = document.getElementById("tooltip");
  var tipName = tooltip.querySelector(".name");
  var tipValue = tooltip.querySelector(".value");
  var info = document.getElementById("auswahl");
  var description = document.getElementById("karte-beschreibung");
  var legendTitle = document.getElementById("legende-titel");
  var legend = document.getElementById("legende");
  var table = document.getElementById("tabelle");
  var tbody = table.querySelector("tbody");
  var caption = document.getElementById("tabelle-beschriftung");
  var cityCell = document.getElementById("stadt");
  var headers = Array.prototype.slice.call(table.querySelectorAll("thead th"));
  var SVG_NS = "http://www.w3.org/2000/svg";
  var PATTERNS = {"-1": "url(#muster-gesperrt)", "-2": "url(#muster-ohne)", "-3": "url(#muster-ohne)"};
  var SIGNS = {"-1": "*", "-2": "x", "-3": "."};
  var state = {sortKey: "id", sortDir: 1, active: -1};
  var current = null;

  function indicatorInfo(id) {
    for (var i = 0; i < data.indicators.length; i++) {
      if (data.indicators[i].id === id) { return data.indicators[i]; }
    }
    return data.indicators[0];
  }

  function dateLabel(iso) {
    for (var i = 0; i < data.dates.length; i++) {
      if (data.dates[i].iso === iso) { return data.dates[i].label; }
    }
    return iso;
  }

  // A cell's text with its unit ("12,3 %", "2.161 Personen"); a sign stays alone.
  function withUnit(text, unit) {
    if (!unit || text === "*" || text === "x" || text === ".") { return text; }
    return text + " " + unit;
  }

  function signLabel(text) {
    var sign = data.signs[text];
    return sign ? text + " \u2013 " + sign.label : text;  // "* - Wert gesperrt (Geheimhaltung)", with a dash
  }

  // A German number ("1.234,5", "\u22120,3") as a number for sorting; signs sort last.
  function numeric(text) {
    if (text === "*" || text === "x" || text === ".") { return null; }
    var plain = text.split(".").join("").replace(",", ".").replace("\u2212", "-");
    var value = parseFloat(plain);
    return isNaN(value) ? null : value;
  }

  function fillOf(code) {
    if (code >= 0) { return current.legend[code].colour; }
    return PATTERNS[String(code)] || PATTERNS["-2"];
  }

  function swatch(fill) {
    var box = document.createElementNS(SVG_NS, "svg");
    box.setAttribute("width", "22");
    box.setAttribute("height", "14");
    box.setAttribute("aria-hidden", "true");
    var rect = document.createElementNS(SVG_NS, "rect");
    rect.setAttribute("width", "22");
    rect.setAttribute("height", "14");
    rect.setAttribute("fill", fill);
    box.appendChild(rect);
    return box;
  }

  function legendItem(fill, text) {
    var item = document.createElement("li");
    item.appendChild(swatch(fill));
    var label = document.createElement("span");
    label.textContent = text;
    item.appendChild(label);
    legend.appendChild(item);
  }

  function renderLegend(ind) {
    legend.textContent = "";
    legendTitle.textContent = ind.label + (ind.unit ? " in " + ind.unit : "") + " (Zahl der Bezirke)";
    current.legend.forEach(function (entry) {
      legendItem(entry.colour, entry.label + " (" + entry.n + ")");
    });
    ["*", "x", "."].forEach(function (sign) {
      var n = current.n[sign];
      if (n > 0) {
        legendItem(PATTERNS[sign === "*" ? "-1" : "-2"], sign + " " + data.signs[sign].label + " (" + n + ")");
      }
    });
  }

  function rowsInOrder() {
    var order = data.districts.map(function (d, i) { return i; });
    var key = state.sortKey;
    var dir = state.sortDir;
    order.sort(function (a, b) {
      var x, y;
      if (key === "value") {
        x = numeric(current.t[a]);
        y = numeric(current.t[b]);
        if (x === null && y === null) { return a - b; }
        if (x === null) { return 1; }
        if (y === null) { return -1; }
        return (x - y) * dir || a - b;
      }
      if (key === "name") {
        return data.districts[a].name.localeCompare(data.districts[b].name, "de") * dir || a - b;
      }
      return (a - b) * dir;
    });
    return order;
  }

  function renderTable(ind) {
    caption.textContent = ind.label + (ind.unit ? " in " + ind.unit : "") + ", Stichtag " + dateLabel(selectDate.value);
    tbody.textContent = "";
    rowsInOrder().forEach(function (i) {
      var row = document.createElement("tr");
      row.setAttribute("data-index", String(i));
      if (i === state.active) { row.className = "active"; }
      var idCell = document.createElement("td");
      idCell.textContent = data.districts[i].id;
      var nameCell = document.createElement("th");
      nameCell.setAttribute("scope", "row");
      nameCell.textContent = data.districts[i].name;
      var valueCell = document.createElement("td");
      valueCell.className = "num";
      if (current.c[i] >= 0) {
        var mark = document.createElement("span");
        mark.className = "swatch";
        mark.style.background = current.legend[current.c[i]].colour;
        mark.setAttribute("aria-hidden", "true");
        valueCell.appendChild(mark);
      }
      valueCell.appendChild(document.createTextNode(current.t[i]));
      row.appendChild(idCell);
      row.appendChild(nameCell);
      row.appendChild(valueCell);
      tbody.appendChild(row);
    });
    cityCell.textContent = current.city;
    headers.forEach(function (th) {
      var key = th.getAttribute("data-key");
      th.setAttribute("aria-sort", key === state.sortKey ? (state.sortDir > 0 ? "ascending" : "descending") : "none");
    });
  }

  function label(i, ind) {
    return data.districts[i].name + ": " + signLabel(withUnit(current.t[i], ind.unit));
  }

  function render() {
    var ind = indicatorInfo(selectIndicator.value);
    current = data.cells[ind.id][selectDate.value];
    paths.forEach(function (path, i) {
      var code = current.c[i];
      path.setAttribute("fill", fillOf(code));
      path.setAttribute("data-class", String(code));
      path.setAttribute("aria-label", label(i, ind));
    });
    description.textContent = ind.label + " am " + dateLabel(selectDate.value) + "; Klassen: " + current.method +
      " (je Stichtag wie in den Karten des Berichts). " + (ind.definition || "");
    renderLegend(ind);
    renderTable(ind);
    if (state.active >= 0) { show(state.active, null); }
  }

  function show(i, event) {
    var ind = indicatorInfo(selectIndicator.value);
    if (state.active >= 0 && state.active !== i) { paths[state.active].classList.remove("active"); }
    state.active = i;
    paths[i].classList.add("active");
    highlight.setAttribute("d", paths[i].getAttribute("d"));
    tipName.textContent = data.districts[i].name;
    tipValue.textContent = signLabel(withUnit(current.t[i], ind.unit));
    info.textContent = label(i, ind);
    tooltip.hidden = false;
    var box = tooltip.parentNode.getBoundingClientRect();
    var x, y;
    if (event && typeof event.clientX === "number" && event.type !== "focus" && event.clientX !== 0) {
      x = event.clientX - box.left + 14;
      y = event.clientY - box.top + 14;
    } else {
      var shape = paths[i].getBoundingClientRect();
      x = shape.left + shape.width / 2 - box.left;
      y = shape.top + shape.height / 2 - box.top;
    }
    var maxX = box.width - tooltip.offsetWidth - 4;
    tooltip.style.left = Math.max(0, Math.min(x, maxX)) + "px";
    tooltip.style.top = Math.max(0, y) + "px";
    Array.prototype.forEach.call(tbody.rows, function (row) {
      row.className = Number(row.getAttribute("data-index")) === i ? "active" : "";
    });
  }

  function hide() {
    tooltip.hidden = true;
    highlight.setAttribute("d", "");
    if (state.active >= 0) { paths[state.active].classList.remove("active"); }
    state.active = -1;
    Array.prototype.forEach.call(tbody.rows, function (row) { row.className = ""; });
  }

  paths.forEach(function (path, i) {
    path.addEventListener("pointerenter", function (event) { show(i, event); });
    path.addEventListener("pointermove", function (event) { show(i, event); });
    path.addEventListener("click", function (event) { show(i, event); });
    path.addEventListener("focus", function (event) { show(i, event); });
    path.addEventListener("pointerleave", function () { if (document.activeElement !== path) { hide(); } });
    path.addEventListener("blur", hide);
  });
  document.addEventListener("keydown", function (event) { if (event.key === "Escape") { hide(); } });
  headers.forEach(function (th) {
    th.querySelector("button").addEventListener("click", function () {
      var key = th.getAttribute("data-key");
      state.sortDir = key === state.sortKey ? -state.sortDir : 1;
      state.sortKey = key;
      renderTable(indicatorInfo(selectIndicator.value));
    });
  });
  selectIndicator.addEventListener("change", render);
  selectDate.addEventListener("change", render);
  render();
}());
