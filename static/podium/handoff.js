/* Podium handoff map: actors and the handoffs between them (cytoscape.js + dagre). */
(function () {
  "use strict";

  const container = document.getElementById("handoff-canvas");
  if (!container) return;
  const config = JSON.parse(document.getElementById("handoff-config").textContent);
  const elements = JSON.parse(document.getElementById("handoff-elements").textContent);
  const detail = document.getElementById("handoff-detail");
  const overview = detail.innerHTML;

  const colors = {
    team: ["#f3e8fd", "#ae3ec9"], person: ["#f3e8fd", "#ae3ec9"], ai: ["#fff4e6", "#f76707"],
    system: ["#e7f0fb", "#206bc4"], podium: ["#f1f3f5", "#667382"], edge: ["#ffffff", "#2fb344"],
  };
  const nodeStyle = (kind) => ({
    "background-color": colors[kind][0], "border-color": colors[kind][1],
  });

  const cy = cytoscape({
    container: container,
    elements: elements,
    layout: { name: "dagre", rankDir: "TB", nodeSep: 200, rankSep: 130, edgeSep: 40, padding: 40 },
    wheelSensitivity: 0.25,
    minZoom: 0.2,
    maxZoom: 2,
    autoungrabify: false,
    boxSelectionEnabled: false,
    style: [
      { selector: "node", style: {
        shape: "round-rectangle", width: "label", height: 46, padding: "16px", "border-width": 2,
        label: "data(label)", "text-valign": "center", "text-halign": "center", "font-size": 15,
        "font-weight": 600, color: "#1d273b", "text-wrap": "wrap", "text-max-width": 170,
        "font-family": "Inter, -apple-system, Segoe UI, Helvetica, Arial, sans-serif",
      } },
      { selector: "node.team", style: nodeStyle("team") },
      { selector: "node.person", style: Object.assign(nodeStyle("person"), { shape: "ellipse" }) },
      { selector: "node.ai", style: Object.assign(nodeStyle("ai"), { shape: "cut-rectangle" }) },
      { selector: "node.system", style: Object.assign(nodeStyle("system"), { shape: "barrel" }) },
      { selector: "node.podium", style: nodeStyle("podium") },
      { selector: "node.edge", style: Object.assign(nodeStyle("edge"), { shape: "round-rectangle", "corner-radius": 23, "font-weight": 500, color: "#475569" }) },
      { selector: "node.gap", style: { "border-style": "dashed", "border-color": "#d63939", "border-width": 3 } },
      { selector: "node:selected", style: { "overlay-color": "#206bc4", "overlay-opacity": 0.15, "overlay-padding": 6 } },
      { selector: "edge", style: {
        width: "data(width)", "curve-style": "bezier", "line-color": "#94a3b8", "target-arrow-color": "#94a3b8",
        "target-arrow-shape": "triangle", "arrow-scale": 1.1, label: "data(label)", "font-size": 12, color: "#334155",
        "text-background-color": "#ffffff", "text-background-opacity": 0.95, "text-background-padding": 3,
        "text-background-shape": "round-rectangle", "text-rotation": "none", "text-wrap": "wrap", "text-max-width": 180,
        "control-point-step-size": 60,
      } },
      { selector: "edge.unused", style: { "line-style": "dashed", "line-color": "#cbd5e1", "target-arrow-color": "#cbd5e1" } },
      { selector: "edge.rework", style: { "line-color": "#f59f00", "target-arrow-color": "#f59f00" } },
      { selector: "edge.slow", style: { "line-color": "#d63939", "target-arrow-color": "#d63939", color: "#b02a2a" } },
      { selector: "edge:selected", style: { "line-color": "#206bc4", "target-arrow-color": "#206bc4", "overlay-opacity": 0 } },
    ],
  });
  window.podiumHandoff = { cy: cy };
  if (cy.zoom() > 1.4) { cy.zoom(1.4); cy.center(); }

  function show(url) {
    htmx.ajax("GET", url + "&" + config.query, { target: "#handoff-detail", swap: "innerHTML" });
  }
  function showEdge(id) {
    cy.$(":selected").unselect();
    cy.getElementById(id).select();
    show(config.edge + "?edge=" + encodeURIComponent(id));
  }
  cy.on("tap", "edge", (e) => showEdge(e.target.id()));
  cy.on("tap", "node", (e) => show(config.actor + "?actor=" + encodeURIComponent(e.target.id())));
  cy.on("tap", (e) => {
    if (e.target === cy) { cy.$(":selected").unselect(); detail.innerHTML = overview; }
  });
  cy.on("mouseover", "edge, node", () => { container.style.cursor = "pointer"; });
  cy.on("mouseout", "edge, node", () => { container.style.cursor = ""; });

  document.addEventListener("click", (event) => {
    const edge = event.target.closest("[data-edge]");
    if (edge) { event.preventDefault(); showEdge(edge.dataset.edge); }
    if (event.target.closest("[data-overview]")) { cy.$(":selected").unselect(); detail.innerHTML = overview; }
  });
  document.querySelectorAll("[data-autosubmit]").forEach((input) => {
    input.addEventListener("change", () => input.form.requestSubmit());
  });

  // Keyboard: Tab to the map, then arrows walk the actors and Enter opens one.
  container.addEventListener("keydown", (event) => {
    const nodes = cy.nodes().sort((a, b) => a.position("x") - b.position("x") || a.position("y") - b.position("y"));
    if (!nodes.length) return;
    const current = cy.$("node:selected");
    let index = current.nonempty() ? nodes.indexOf(current[0]) : -1;
    if (event.key === "ArrowRight" || event.key === "ArrowDown") index = Math.min(nodes.length - 1, index + 1);
    else if (event.key === "ArrowLeft" || event.key === "ArrowUp") index = Math.max(0, index - 1);
    else if (event.key === "Enter" && current.nonempty()) { show(config.actor + "?actor=" + encodeURIComponent(current.id())); return; }
    else return;
    event.preventDefault();
    cy.$(":selected").unselect();
    nodes[index].select();
  });

  document.getElementById("handoff-png").addEventListener("click", () => {
    const link = document.createElement("a");
    link.href = cy.png({ full: true, scale: 2, bg: "#ffffff" });
    link.download = config.filename;
    document.body.appendChild(link);
    link.click();
    link.remove();
  });
})();
