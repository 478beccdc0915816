/* Podium flow editor: the canvas (cytoscape.js + edgehandles + dagre + undo-redo).
 *
 * The server owns the flow definition. This script only draws the graph, lets people
 * change its shape (add, connect, move, delete), and sends the shape to the server,
 * which merges it into the draft, lints it and answers with the new revision and the
 * problems. Step properties are Django forms in the side panel (htmx).
 */
(function () {
  "use strict";

  const root = document.getElementById("podium-editor");
  if (!root) return;
  const startedAt = performance.now();
  const config = JSON.parse(document.getElementById("editor-config").textContent);
  const elements = JSON.parse(document.getElementById("editor-elements").textContent);
  const readOnly = !!config.readOnly;
  const csrfToken = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
  let revision = config.revision;
  let saveTimer = null;
  let saving = false;
  let pendingSave = false;
  let inConflict = false;
  let syncing = false;
  let eh = null; // edgehandles, when the draft is editable

  const $ = (sel) => document.querySelector(sel);
  const statusEl = $("#save-status");
  const messageEl = $("#canvas-message");

  // ---------------------------------------------------------------- icons
  // Tabler's icon font glyphs drawn once into small images for the nodes.
  const iconCache = {};
  function iconImage(iconClass, color) {
    const key = iconClass + color;
    if (iconCache[key]) return iconCache[key];
    const probe = document.createElement("i");
    probe.className = "ti " + iconClass;
    probe.style.position = "absolute";
    probe.style.visibility = "hidden";
    document.body.appendChild(probe);
    const glyph = getComputedStyle(probe, "::before").content.replace(/["']/g, "");
    probe.remove();
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = 64;
    const ctx = canvas.getContext("2d");
    ctx.font = "48px tabler-icons";
    ctx.fillStyle = color;
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.fillText(glyph, 32, 34);
    iconCache[key] = canvas.toDataURL();
    return iconCache[key];
  }

  const STATUS_LABEL = {
    queued: "Queued", running: "Running", waiting: "Waiting", retry_wait: "Waiting to retry",
    succeeded: "Succeeded", failed: "Failed", skipped: "Skipped", cancelled: "Cancelled",
    compensated: "Compensated",
  };

  // ---------------------------------------------------------------- cytoscape
  const style = [
    { selector: "node", style: {
      shape: "round-rectangle", width: 164, height: 50, "background-color": "#ffffff",
      "border-width": 2, "border-color": "data(color)", label: "data(label)",
      "font-family": "Inter, -apple-system, Segoe UI, Helvetica, Arial, sans-serif", "font-size": 13, "font-weight": 500,
      color: "#1d273b", "text-valign": "center", "text-halign": "center", "text-margin-x": 14,
      "text-wrap": "wrap", "text-max-width": 116, "line-height": 1.15,
      "background-image": "data(icon)", "background-width": 22, "background-height": 22,
      "background-position-x": 12, "background-position-y": 15, "background-clip": "none",
      "background-image-containment": "over",
    } },
    { selector: "node.start", style: { shape: "round-rectangle", "border-width": 3, "corner-radius": 26 } },
    { selector: "node.end", style: { "border-width": 3, "corner-radius": 26, "border-style": "double", "border-width": 5 } },
    { selector: "node:selected", style: { "overlay-color": "#206bc4", "overlay-opacity": 0.12, "overlay-padding": 6, "border-color": "#206bc4" } },
    { selector: "node.has-warning", style: { "border-color": "#f59f00" } },
    { selector: "node.has-error", style: { "border-color": "#d63939", "border-style": "solid", "border-width": 3,
      "background-color": "#fff5f5" } },
    { selector: "node.flash", style: { "overlay-color": "#206bc4", "overlay-opacity": 0.3, "overlay-padding": 10 } },
    { selector: "node.run-queued", style: { "background-color": "#f1f3f5" } },
    { selector: "node.run-running, node.run-retry_wait", style: { "background-color": "#dbeafe", "border-color": "#206bc4", "border-width": 4 } },
    { selector: "node.run-waiting", style: { "background-color": "#fff3bf", "border-color": "#f59f00", "border-width": 4 } },
    { selector: "node.run-succeeded", style: { "background-color": "#d3f9d8", "border-color": "#2fb344", "border-width": 3 } },
    { selector: "node.run-failed", style: { "background-color": "#ffe3e3", "border-color": "#d63939", "border-width": 4 } },
    { selector: "node.run-skipped, node.run-cancelled", style: { "background-color": "#f1f3f5", "border-style": "dashed" } },
    { selector: "node.handle", style: {
      shape: "ellipse", width: 14, height: 14, "background-color": "#206bc4", "border-width": 2,
      "border-color": "#ffffff", label: "", "background-image": "none", "overlay-opacity": 0, events: "yes",
      "z-index": 9999,
    } },
    { selector: "edge", style: {
      width: 2, "line-color": "#94a3b8", "target-arrow-color": "#94a3b8", "target-arrow-shape": "triangle",
      "curve-style": "bezier", "arrow-scale": 1.1, label: "data(label)", "font-size": 11, color: "#475569",
      "text-background-color": "#ffffff", "text-background-opacity": 1, "text-background-padding": 3,
      "text-background-shape": "round-rectangle", "text-wrap": "ellipsis", "text-max-width": 160,
    } },
    { selector: "edge.default-path", style: { "line-style": "dashed" } },
    { selector: "edge.error-path", style: { "line-color": "#d63939", "target-arrow-color": "#d63939", "line-style": "dotted" } },
    { selector: "edge.has-warning", style: { "line-color": "#f59f00", "target-arrow-color": "#f59f00" } },
    { selector: "edge.has-error", style: { "line-color": "#d63939", "target-arrow-color": "#d63939", width: 3 } },
    { selector: "edge:selected", style: { "line-color": "#206bc4", "target-arrow-color": "#206bc4", width: 3 } },
    { selector: "edge.run-taken", style: { "line-color": "#2fb344", "target-arrow-color": "#2fb344", width: 3 } },
    { selector: ".eh-ghost-edge, edge.eh-preview", style: { "line-color": "#206bc4", "target-arrow-color": "#206bc4", "line-style": "dashed", label: "" } },
    { selector: ".eh-ghost-node", style: { opacity: 0 } },
    { selector: "node.eh-target", style: { "border-color": "#206bc4", "border-width": 4 } },
  ];

  function decorate(el) {
    if (el.group === "nodes" || (!el.group && !el.data.source)) {
      el.data.icon = iconImage(el.data.iconClass || "ti-square", el.data.color || "#475569");
    }
    return el;
  }

  const cy = cytoscape({
    container: $("#canvas"),
    elements: elements.map(decorate),
    style: style,
    layout: { name: "preset" },
    wheelSensitivity: 0.25,
    minZoom: 0.15,
    maxZoom: 2.5,
    boxSelectionEnabled: true,
    selectionType: "single",
    autoungrabify: readOnly,
  });
  window.podiumEditor = { cy: cy, selectStep: (id) => selectStep(id) };
  const ur = readOnly ? null : cy.undoRedo({ isDebug: false, undoableDrag: true });
  if (!config.hasPositions) runLayout(false);
  else cy.fit(undefined, 50);
  if (cy.zoom() > 1.2) { cy.zoom(1.2); cy.center(); }
  readableStart();

  // A big flow fitted whole is too small to read: open it at a readable size on its
  // first step instead (F still fits everything).
  function readableStart() {
    if (cy.zoom() >= 0.55) return;
    const steps = cy.nodes().not(".handle");
    const first = steps.filter((n) => n.data("allowsIn") === false)[0] ||
      steps.sort((a, b) => a.position("y") - b.position("y"))[0];
    if (!first) return;
    const zoom = 0.8, box = cy.container().getBoundingClientRect(), bb = steps.boundingBox();
    const wide = bb.w > bb.h;  // drawn left to right: start at the left edge, else at the top
    cy.viewport({ zoom: zoom, pan: {
      x: wide ? 40 + first.width() * zoom / 2 - first.position("x") * zoom : box.width / 2 - first.position("x") * zoom,
      y: wide ? box.height / 2 - (bb.y1 + bb.h / 2) * zoom : 60 - first.position("y") * zoom,
    } });
  }

  // ---------------------------------------------------------------- messages
  let messageTimer = null;
  function showMessage(text, kind, where) {
    messageEl.textContent = text;
    messageEl.className = "canvas-message canvas-message-" + (kind || "info");
    messageEl.hidden = false;
    const box = $("#canvas").getBoundingClientRect();
    let x = box.width / 2, y = 24;
    if (where) { x = where.x; y = where.y + 36; }
    messageEl.style.left = Math.max(12, Math.min(box.width - 320, x - 150)) + "px";
    messageEl.style.top = Math.max(8, Math.min(box.height - 60, y)) + "px";
    clearTimeout(messageTimer);
    messageTimer = setTimeout(() => { messageEl.hidden = true; }, 6000);
  }

  cy.on("viewport", () => { if (!messageEl.hidden && !messageEl.dataset.sticky) messageEl.hidden = true; });

  function setStatus(text, kind) {
    statusEl.textContent = text;
    statusEl.dataset.state = kind;
  }

  // ---------------------------------------------------------------- graph to server
  function graph() {
    return {
      nodes: cy.nodes().not(".handle, .eh-ghost, .eh-ghost-node").map((n) => ({
        id: n.id(), kind: n.data("kind"), label: n.data("label"),
        x: Math.round(n.position("x")), y: Math.round(n.position("y")),
      })),
      edges: cy.edges().not(".eh-ghost, .eh-ghost-edge, .eh-preview").map((e) => ({
        source: e.source().id(), target: e.target().id(),
      })),
    };
  }

  function scheduleSave() {
    if (readOnly || syncing) return;
    if (inConflict) { setStatus("Not saved: the draft changed elsewhere", "conflict"); return; }
    setStatus("Unsaved changes…", "dirty");
    clearTimeout(saveTimer);
    saveTimer = setTimeout(save, 350);
  }

  async function save(force) {
    saveTimer = null;
    if (saving) { pendingSave = true; return; }
    if (eh && eh.active) { saveTimer = setTimeout(save, 300); return; }
    saving = true;
    setStatus("Saving…", "saving");
    try {
      const response = await fetch(config.urls.save, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken },
        body: JSON.stringify({ revision: revision, graph: graph(), force: !!force }),
      });
      const isJson = (response.headers.get("Content-Type") || "").includes("json");
      const data = isJson ? await response.json() : { message: "The server refused the change (" + response.status + "). Reload the page." };
      if (response.status === 409) {
        showConflict(data);
      } else if (!response.ok) {
        setStatus("Not saved", "error");
        showMessage(data.message || "The change could not be saved.", "error");
        if (data.elements) syncGraph(data.elements);
        if (data.revision) revision = data.revision;
      } else {
        applySaved(data);
      }
    } catch (err) {
      setStatus("Not saved: no connection to the server", "error");
    } finally {
      saving = false;
      if (pendingSave) { pendingSave = false; save(); }
    }
  }

  function applySaved(data) {
    revision = data.revision;
    inConflict = false;
    $("#conflict-banner").hidden = true;
    setStatus("All changes saved", "saved");
    if (data.problem_steps !== undefined) applyProblems(data);
    if (data.elements) syncGraph(data.elements);
    document.querySelectorAll("input[name=revision]").forEach((i) => { i.value = revision; });
  }

  function showConflict(data) {
    inConflict = true;
    setStatus("Not saved: the draft changed elsewhere", "conflict");
    const banner = $("#conflict-banner");
    banner.querySelector("[data-conflict-text]").textContent = data.message;
    banner.hidden = false;
    try { localStorage.setItem("podium-unsaved-" + config.versionId, JSON.stringify(graph())); } catch (e) { /* private mode */ }
    banner.querySelector("#conflict-reload").focus();
  }

  // ---------------------------------------------------------------- server to graph
  function syncGraph(els) {
    syncing = true;
    const seen = new Set();
    cy.batch(() => {
      els.forEach((raw) => {
        const el = decorate(raw);
        seen.add(el.data.id);
        const existing = cy.getElementById(el.data.id);
        if (existing.nonempty()) {
          existing.data(el.data);
          const keep = existing.classes().filter((c) => c.startsWith("run-") || c === "has-error" || c === "has-warning");
          existing.classes((el.classes || "") + " " + keep.join(" "));
        } else {
          cy.add(el);
        }
      });
      cy.elements().not(".handle, .eh-ghost, .eh-ghost-edge, .eh-ghost-node, .eh-preview").forEach((el) => {
        if (!seen.has(el.id())) el.remove();
      });
    });
    syncing = false;
  }

  function applyProblems(data) {
    const panel = $("#problems");
    if (data.problems_html !== undefined) {
      panel.innerHTML = data.problems_html;
      if (window.htmx) htmx.process(panel);
    }
    cy.elements().removeClass("has-error has-warning");
    (data.problem_steps || []).forEach((p) => {
      cy.getElementById(p.step).addClass(p.severity === "error" ? "has-error" : "has-warning");
    });
    const publish = $("#publish-button");
    if (publish) {
      publish.disabled = !!data.has_errors;
      publish.title = data.has_errors ? "Fix the errors listed under Problems before publishing." : "";
    }
  }

  // ---------------------------------------------------------------- selection and properties
  // The server only knows a step once the canvas has saved it.
  async function whenSaved() {
    if (saveTimer) { clearTimeout(saveTimer); saveTimer = null; await save(); }
    while (saving) await new Promise((resolve) => setTimeout(resolve, 40));
  }

  async function openProperties(ele) {
    if (!readOnly) await whenSaved();
    if (ele.removed()) return;
    const url = ele.isNode()
      ? config.urls.step + "?step=" + encodeURIComponent(ele.id())
      : config.urls.connection + "?source=" + encodeURIComponent(ele.source().id()) + "&target=" + encodeURIComponent(ele.target().id());
    htmx.ajax("GET", url, { target: "#properties", swap: "innerHTML" });
  }

  let selectTimer = null;
  cy.on("select unselect", "node, edge", () => {
    clearTimeout(selectTimer);
    selectTimer = setTimeout(() => {
      const selected = cy.$(":selected").not(".handle");
      if (selected.length === 1) openProperties(selected[0]);
      else if (selected.length > 1) {
        $("#properties").innerHTML = '<div class="properties-empty"><i class="ti ti-stack-2"></i><p><strong>' +
          selected.length + " items selected.</strong><br>Press Delete to remove them, or drag to move them together.</p></div>";
      } else {
        htmx.ajax("GET", config.urls.step, { target: "#properties", swap: "innerHTML" });
      }
    }, 60);
  });

  function selectStep(id) {
    const node = cy.getElementById(id);
    if (node.empty()) return;
    cy.$(":selected").unselect();
    node.select();
    cy.animate({ center: { eles: node }, duration: 200 });
    node.addClass("flash");
    setTimeout(() => node.removeClass("flash"), 600);
  }

  document.addEventListener("click", (event) => {
    const link = event.target.closest("[data-select-step]");
    if (link) { event.preventDefault(); selectStep(link.dataset.selectStep); }
  });

  // The properties form saved on the server: update revision, problems and graph.
  document.body.addEventListener("podium:draft-saved", (event) => applySaved(event.detail));
  document.body.addEventListener("podium:draft-conflict", (event) => showConflict(event.detail));
  // A properties form waits for the canvas's pending save, so both carry the same revision.
  document.body.addEventListener("htmx:confirm", (event) => {
    const elt = event.detail.elt;
    if (!elt || elt.tagName !== "FORM" || !elt.closest("#properties")) return;
    if (!saving && !saveTimer) return;
    event.preventDefault();
    whenSaved().then(() => event.detail.issueRequest(true));
  });
  document.body.addEventListener("htmx:configRequest", (event) => {
    if (event.detail.parameters && "revision" in event.detail.parameters) {
      event.detail.parameters.revision = revision;
    }
  });

  // ---------------------------------------------------------------- adding steps
  function uniqueId(kind) {
    let n = 1;
    while (cy.getElementById(kind + "_" + n).nonempty()) n += 1;
    return kind + "_" + n;
  }

  function addStep(kindButton, position) {
    if (readOnly) return;
    const kind = kindButton.dataset.kind;
    if (!kindButton.dataset.allowsIn && cy.nodes().some((n) => n.data("kind") === kind)) {
      showMessage("A flow has one start step, and this one already has it. Put several triggers on it instead.", "warning");
      return;
    }
    const id = uniqueId(kind);
    const d = kindButton.dataset;
    const el = decorate({
      group: "nodes",
      data: {
        id: id, kind: kind, label: d.label, kindLabel: d.label, color: d.color, iconClass: d.icon,
        allowsIn: !!d.allowsIn, allowsOut: !!d.allowsOut, maxOut: d.maxOut === "" ? null : Number(d.maxOut),
      },
      classes: kindButton.dataset.classes || "",
      position: position,
    });
    ur.do("add", el);
    const empty = $("#canvas-empty");
    if (empty) empty.remove();
    cy.$(":selected").unselect();
    const added = cy.getElementById(id).select();
    const ext = cy.extent(), p = added.position();
    if (p.x < ext.x1 || p.x > ext.x2 || p.y < ext.y1 || p.y > ext.y2) cy.animate({ center: { eles: added }, duration: 200 });
  }

  function centerPosition() {
    // The middle of the view, or the nearest free spot from there (no steps on top of others).
    const ext = cy.extent();
    const taken = (p) => cy.nodes().not(".handle").some((n) =>
      Math.abs(n.position("x") - p.x) < 200 && Math.abs(n.position("y") - p.y) < 66);
    const start = { x: (ext.x1 + ext.x2) / 2, y: (ext.y1 + ext.y2) / 2 };
    for (let ring = 0; ring < 12; ring += 1) {
      for (const [dx, dy] of [[0, 0], [0, 1], [1, 0], [-1, 0], [0, -1], [1, 1], [-1, 1], [1, -1], [-1, -1]]) {
        const p = { x: start.x + dx * 210 * ring, y: start.y + dy * 75 * ring };
        if ((ring === 0 || dx || dy) && !taken(p)) return p;
      }
    }
    return { x: start.x, y: ext.y2 + 80 };
  }

  document.querySelectorAll("[data-palette-kind]").forEach((button) => {
    button.addEventListener("dragstart", (event) => {
      event.dataTransfer.setData("application/x-podium-kind", button.dataset.kind);
      event.dataTransfer.effectAllowed = "copy";
    });
    button.addEventListener("click", () => addStep(button, centerPosition()));
  });

  const canvasEl = $("#canvas");
  canvasEl.addEventListener("dragover", (event) => {
    if (readOnly) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
  });
  canvasEl.addEventListener("drop", (event) => {
    if (readOnly) return;
    event.preventDefault();
    const kind = event.dataTransfer.getData("application/x-podium-kind");
    const button = document.querySelector('[data-palette-kind][data-kind="' + kind + '"]');
    if (!button) return;
    const box = canvasEl.getBoundingClientRect();
    const pan = cy.pan(), zoom = cy.zoom();
    addStep(button, { x: (event.clientX - box.left - pan.x) / zoom, y: (event.clientY - box.top - pan.y) / zoom });
  });

  // ---------------------------------------------------------------- connecting steps
  function connectionProblem(source, target) {
    if (!target || target.empty() || target.hasClass("handle")) return null;
    if (source.same(target)) return "A step cannot lead to itself.";
    if (target.data("allowsIn") === false) return "“" + target.data("label") + "” is a start step: the flow begins there, so nothing can lead into it.";
    if (source.data("allowsOut") === false) return "“" + source.data("label") + "” is an end step: the flow finishes there, so it cannot lead anywhere.";
    const out = source.outgoers("edge").not(".eh-preview, .eh-ghost-edge");
    if (out.some((e) => e.target().same(target))) return "These two steps are already connected.";
    const max = source.data("maxOut");
    if (max !== null && max !== undefined && out.length >= max)
      return "“" + source.data("label") + "” (" + source.data("kindLabel") + ") can lead to one step only. To go several ways, put a “Choose a path” or “Split in parallel” step after it.";
    return null;
  }

  let handleSource = null;
  let lastRefusal = null;
  if (!readOnly) {
    eh = cy.edgehandles({
      canConnect: (source, target) => {
        const problem = connectionProblem(source, target);
        if (problem) lastRefusal = { problem: problem, target: target };
        return !problem && !target.hasClass("handle");
      },
      edgeParams: (source, target) => ({ data: { id: source.id() + "->" + target.id(), label: "" } }),
      snap: true, snapThreshold: 24, hoverDelay: 100,
    });

    const handle = cy.add({ group: "nodes", data: { id: "__handle", label: "" }, classes: "handle", selectable: false, grabbable: false });
    handle.style("display", "none");
    let hideTimer = null;

    function placeHandle(node) {
      if (eh.active || node.data("allowsOut") === false || node.hasClass("handle")) return;
      clearTimeout(hideTimer);
      handleSource = node;
      const bb = node.boundingBox({ includeLabels: false, includeOverlays: false });
      handle.position({ x: bb.x2, y: node.position("y") });
      handle.style("display", "element");
    }
    function hideHandle() {
      hideTimer = setTimeout(() => { if (!eh.active) handle.style("display", "none"); }, 400);
    }
    cy.on("mouseover", "node", (e) => { if (e.target.hasClass("handle")) clearTimeout(hideTimer); else placeHandle(e.target); });
    cy.on("mousemove", "node", (e) => {
      if (!e.target.hasClass("handle") && (handle.style("display") === "none" || !e.target.same(handleSource))) placeHandle(e.target);
    });
    cy.on("mouseout", "node", () => hideHandle());
    cy.on("position", "node", (e) => { if (handleSource && e.target.same(handleSource) && !e.target.hasClass("handle")) placeHandle(e.target); });
    cy.on("tapstart", "node.handle", () => {
      if (handleSource && handleSource.inside()) { lastRefusal = null; eh.start(handleSource); }
    });
    cy.on("ehstop", (event, source) => {
      handle.style("display", "none");
      // Explain a refused connection where the mouse was let go.
      const pos = event.position;
      const under = cy.nodes().not(".handle, .eh-ghost-node").filter((n) => {
        const bb = n.boundingBox({ includeLabels: false });
        return pos && pos.x >= bb.x1 && pos.x <= bb.x2 && pos.y >= bb.y1 && pos.y <= bb.y2;
      });
      if (under.nonempty()) {
        const problem = connectionProblem(source, under[0]);
        if (problem) showMessage(problem, "error", under[0].renderedPosition());
      }
    });
    cy.on("ehcomplete", (event, source, target, added) => {
      const json = added.map((e) => e.json());
      added.remove();
      const id = source.id() + "->" + target.id();
      if (cy.getElementById(id).nonempty()) return;
      ur.do("add", json.map((j) => ({ group: "edges", data: { id: id, source: source.id(), target: target.id(), label: "" } })));
    });
    cy.on("tapstart", "node.end", (e) => {
      if (connectMode) showMessage("“" + e.target.data("label") + "” is an end step: the flow finishes there, so it cannot lead anywhere.", "error", e.target.renderedPosition());
    });
    cy.on("add remove", (e) => {
      if (e.target.hasClass("handle") || e.target.hasClass("eh-ghost") || e.target.hasClass("eh-ghost-edge") ||
          e.target.hasClass("eh-ghost-node") || e.target.hasClass("eh-preview")) return;
      scheduleSave();
    });
    let grabbedAt = null;
    cy.on("grab", "node", (e) => { grabbedAt = Object.assign({}, e.target.position()); });
    cy.on("free", "node", (e) => {
      const p = e.target.position();
      if (!grabbedAt || Math.abs(p.x - grabbedAt.x) > 0.5 || Math.abs(p.y - grabbedAt.y) > 0.5) scheduleSave();
      grabbedAt = null;
    });
  }

  let connectMode = false;
  function toggleConnectMode(on) {
    if (!eh) return;
    connectMode = on === undefined ? !connectMode : on;
    if (connectMode) eh.enableDrawMode(); else eh.disableDrawMode();
    const button = $("#connect-mode");
    if (button) { button.classList.toggle("active", connectMode); button.setAttribute("aria-pressed", connectMode); }
    if (connectMode) showMessage("Connect mode: drag from one step to another. Press C or Esc to leave.", "info");
  }

  // ---------------------------------------------------------------- toolbar
  function runLayout(animate) {
    const nodes = cy.nodes().not(".handle");
    const layout = nodes.union(nodes.edgesWith(nodes)).layout({
      name: "dagre", rankDir: "TB", nodeSep: 36, rankSep: 56, edgeSep: 20,
      animate: !!animate, animationDuration: 250, fit: true, padding: 36,
    });
    layout.run();
    if (cy.zoom() > 1.2) { cy.zoom(1.2); cy.center(); }
  }

  function deleteSelected() {
    if (readOnly) return;
    const selected = cy.$(":selected").not(".handle");
    if (selected.empty()) return;
    ur.do("remove", selected.union(selected.connectedEdges()));
    htmx.ajax("GET", config.urls.step, { target: "#properties", swap: "innerHTML" });
  }

  function zoomBy(factor) {
    const box = canvasEl.getBoundingClientRect();
    cy.zoom({ level: cy.zoom() * factor, renderedPosition: { x: box.width / 2, y: box.height / 2 } });
  }

  const actions = {
    undo: () => { if (ur && !ur.isUndoStackEmpty()) { ur.undo(); scheduleSave(); } },
    redo: () => { if (ur && !ur.isRedoStackEmpty()) { ur.redo(); scheduleSave(); } },
    delete: deleteSelected,
    layout: () => {
      if (readOnly) { runLayout(true); return; }
      const before = {};
      cy.nodes().not(".handle").forEach((n) => { before[n.id()] = Object.assign({}, n.position()); });
      runLayout(false);
      const after = {};
      cy.nodes().not(".handle").forEach((n) => { after[n.id()] = Object.assign({}, n.position()); });
      ur.do("podiumPositions", { before: before, after: after, firstTime: true });
      scheduleSave();
    },
    fit: () => cy.animate({ fit: { eles: cy.nodes().not(".handle"), padding: 40 }, duration: 200 }),
    zoomIn: () => zoomBy(1.2),
    zoomOut: () => zoomBy(1 / 1.2),
    connect: () => toggleConnectMode(),
  };
  if (ur) {
    const setPositions = (map) => { Object.entries(map).forEach(([id, p]) => cy.getElementById(id).position(p)); };
    ur.action("podiumPositions",
      (args) => { if (!args.firstTime) setPositions(args.after); args.firstTime = false; return args; },
      (args) => { setPositions(args.before); return args; });
  }
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-editor-action]");
    if (button && actions[button.dataset.editorAction]) { event.preventDefault(); actions[button.dataset.editorAction](); }
    if (event.target.closest("[data-shortcuts]")) {
      showMessage("Keyboard: arrows move between steps (Home / End: first and last) · Delete removes · Ctrl+Z undo · Ctrl+Shift+Z redo · C connect mode · L arrange · F fit · + / − zoom · Esc clears the selection. Select several: Ctrl-click, or Shift-drag a box.", "info");
    }
    if (event.target.closest("[data-close-dialog]")) dialog.close();
  });

  // ---------------------------------------------------------------- dialogs (publish, test run)
  const dialog = $("#editor-dialog");
  document.body.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target.id !== "dialog-body") return;
    if (event.detail.target.querySelector("[data-close-on-load]")) { dialog.close(); return; }
    if (!dialog.open) dialog.showModal();
    const first = dialog.querySelector("textarea, input:not([type=hidden]), select");
    if (first) first.focus();
  });
  document.querySelectorAll('a[data-bs-toggle="tab"]').forEach((tab) => {
    tab.addEventListener("shown.bs.tab", () => { cy.resize(); });
  });

  // ---------------------------------------------------------------- keyboard
  function typing(target) {
    return target.closest("input, textarea, select, [contenteditable], .modal, dialog");
  }
  document.addEventListener("keydown", (event) => {
    if (typing(event.target)) return;
    const mod = event.ctrlKey || event.metaKey;
    const key = event.key.toLowerCase();
    if (mod && key === "z" && !event.shiftKey) { actions.undo(); event.preventDefault(); }
    else if (mod && (key === "y" || (key === "z" && event.shiftKey))) { actions.redo(); event.preventDefault(); }
    else if (mod && key === "a" && document.activeElement === canvasEl) { cy.nodes().not(".handle").select(); event.preventDefault(); }
    else if (mod) return;
    else if ((key === "delete" || key === "backspace") && document.activeElement === canvasEl) { actions.delete(); event.preventDefault(); }
    else if (key === "f") actions.fit();
    else if (key === "l" && !readOnly) actions.layout();
    else if (key === "c" && !readOnly) actions.connect();
    else if (key === "escape") { if (connectMode) toggleConnectMode(false); cy.$(":selected").unselect(); }
    else if (key === "+" || key === "=") actions.zoomIn();
    else if (key === "-") actions.zoomOut();
    else if ((key === "home" || key === "end") && document.activeElement === canvasEl) {
      const nodes = cy.nodes().not(".handle").sort((a, b) => a.position("y") - b.position("y") || a.position("x") - b.position("x"));
      if (nodes.nonempty()) selectStep(nodes[key === "home" ? 0 : nodes.length - 1].id());
      event.preventDefault();
    }
    else if ((key === "arrowdown" || key === "arrowright" || key === "arrowup" || key === "arrowleft") && document.activeElement === canvasEl) {
      // Walk through the steps from top to bottom with the arrow keys.
      const nodes = cy.nodes().not(".handle").sort((a, b) => a.position("y") - b.position("y") || a.position("x") - b.position("x"));
      if (nodes.empty()) return;
      const current = cy.$("node:selected").not(".handle");
      let index = current.nonempty() ? nodes.indexOf(current[0]) : -1;
      index = key === "arrowdown" || key === "arrowright" ? Math.min(nodes.length - 1, index + 1) : Math.max(0, index - 1);
      selectStep(nodes[index].id());
      event.preventDefault();
    }
  });

  // ---------------------------------------------------------------- conflict banner
  const reloadButton = $("#conflict-reload");
  if (reloadButton) reloadButton.addEventListener("click", () => window.location.reload());
  const keepButton = $("#conflict-keep");
  if (keepButton) keepButton.addEventListener("click", () => { inConflict = false; save(true); });

  // ---------------------------------------------------------------- nothing lost
  // After a conflict the unsaved shape is kept in localStorage; on the next load the
  // steps and connections it added can be put back on top of the other person's draft.
  const storeKey = "podium-unsaved-" + config.versionId;
  function unsavedAdditions() {
    let kept = null;
    try { kept = JSON.parse(localStorage.getItem(storeKey) || "null"); } catch (e) { kept = null; }
    if (!kept) return null;
    const nodes = kept.nodes.filter((n) => cy.getElementById(n.id).empty());
    const ids = new Set(cy.nodes().map((n) => n.id()).concat(nodes.map((n) => n.id)));
    const edges = kept.edges.filter((e) => ids.has(e.source) && ids.has(e.target) &&
      cy.getElementById(e.source + "->" + e.target).empty());
    return nodes.length || edges.length ? { nodes: nodes, edges: edges } : null;
  }
  const additions = readOnly ? null : unsavedAdditions();
  if (additions) $("#restore-banner").hidden = false;
  else { try { localStorage.removeItem(storeKey); } catch (e) { /* private mode */ } }
  const restoreApply = $("#restore-apply");
  if (restoreApply) restoreApply.addEventListener("click", () => {
    const els = additions.nodes.map((n) => {
      const button = document.querySelector('[data-palette-kind][data-kind="' + n.kind + '"]');
      const d = button ? button.dataset : {};
      return decorate({ group: "nodes", position: { x: n.x, y: n.y }, classes: d.classes || "",
        data: { id: n.id, kind: n.kind, label: n.label, kindLabel: d.label, color: d.color, iconClass: d.icon,
          allowsIn: !!d.allowsIn, allowsOut: !!d.allowsOut, maxOut: d.maxOut ? Number(d.maxOut) : null } });
    }).concat(additions.edges.map((e) => ({ group: "edges",
      data: { id: e.source + "->" + e.target, source: e.source, target: e.target, label: "" } })));
    ur.do("add", els);
    localStorage.removeItem(storeKey);
    $("#restore-banner").hidden = true;
  });
  const restoreDiscard = $("#restore-discard");
  if (restoreDiscard) restoreDiscard.addEventListener("click", () => {
    localStorage.removeItem(storeKey);
    $("#restore-banner").hidden = true;
  });

  // ---------------------------------------------------------------- test runs
  let pollTimer = null;
  function watchRun(url) {
    clearTimeout(pollTimer);
    const poll = async () => {
      try {
        const response = await fetch(url, { headers: { Accept: "application/json" } });
        if (!response.ok) return;
        const data = await response.json();
        cy.batch(() => {
          cy.nodes().forEach((n) => {
            n.classes(n.classes().filter((c) => !c.startsWith("run-")));
            const run = data.steps[n.id()];
            if (run) n.addClass("run-" + run.status);
          });
          cy.edges().removeClass("run-taken");
          (data.taken || []).forEach(([s, t]) => cy.getElementById(s + "->" + t).addClass("run-taken"));
        });
        const banner = $("#run-banner");
        banner.hidden = false;
        banner.dataset.status = data.status;
        banner.querySelector("[data-run-text]").textContent = data.summary;
        if (!data.finished) pollTimer = setTimeout(poll, 700);
      } catch (err) {
        pollTimer = setTimeout(poll, 2000);
      }
    };
    poll();
  }
  document.body.addEventListener("podium:watch-run", (event) => watchRun(event.detail.url));
  const clearRun = $("#run-clear");
  if (clearRun) clearRun.addEventListener("click", () => {
    clearTimeout(pollTimer);
    cy.nodes().forEach((n) => n.classes(n.classes().filter((c) => !c.startsWith("run-"))));
    cy.edges().removeClass("run-taken");
    $("#run-banner").hidden = true;
  });
  if (config.watchRunUrl) watchRun(config.watchRunUrl);

  // Leaving with a change not yet saved asks first.
  window.addEventListener("beforeunload", (event) => {
    if (!readOnly && (saveTimer || saving)) { event.preventDefault(); event.returnValue = ""; }
  });

  // Flash messages float over the page; they leave by themselves.
  document.querySelectorAll(".page-body > .container-xl > .alert").forEach((alert) => {
    setTimeout(() => alert.remove(), 6000);
  });

  // The decision's provider: show only the settings of the chosen kind of provider.
  const PROVIDER_FIELDS = { rules: ["provider_table"], llm: ["provider_endpoint", "provider_model"],
    python: ["provider_function"], learned: [] };
  function showProviderFields(scope) {
    const select = scope.querySelector("select[name=provider_type]");
    if (!select) return;
    const wanted = PROVIDER_FIELDS[select.value] || [];
    ["provider_table", "provider_endpoint", "provider_model", "provider_function"].forEach((name) => {
      const wrap = scope.querySelector('[data-field="' + name + '"]');
      if (wrap) wrap.hidden = !wanted.includes(name);
    });
  }
  document.body.addEventListener("change", (event) => {
    if (event.target.name === "provider_type") showProviderFields(event.target.form);
  });
  document.body.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target.id === "properties") showProviderFields(event.detail.target);
  });

  // First paint of the problem markers.
  applyProblems(JSON.parse(document.getElementById("editor-problems").textContent));
  setStatus(readOnly ? "Read-only" : "All changes saved", readOnly ? "readonly" : "saved");
  window.podiumEditor.initMs = performance.now() - startedAt;
  window.podiumEditor.readyAt = performance.now();
})();
