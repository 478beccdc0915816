#!/usr/bin/env bash
# Copy third-party browser assets installed by npm into the git-ignored static/vendor/.
set -euo pipefail
cd "$(dirname "$0")/.."
nm=node_modules
out=static/vendor
rm -rf "$out"
mkdir -p "$out"/{tabler,tabler-icons/fonts,cytoscape,lodash}
cp "$nm/@tabler/core/dist/css/tabler.min.css" "$out/tabler/"
cp "$nm/@tabler/core/dist/js/tabler.min.js" "$out/tabler/"
cp "$nm/@tabler/icons-webfont/dist/tabler-icons.min.css" "$out/tabler-icons/"
cp "$nm"/@tabler/icons-webfont/dist/fonts/tabler-icons.woff2 "$out/tabler-icons/fonts/"
cp "$nm/cytoscape/dist/cytoscape.min.js" "$out/cytoscape/"
cp "$nm/cytoscape-edgehandles/cytoscape-edgehandles.js" "$out/cytoscape/"
cp "$nm/cytoscape-dagre/cytoscape-dagre.js" "$out/cytoscape/"
cp "$nm/dagre/dist/dagre.min.js" "$out/cytoscape/"
cp "$nm/cytoscape-undo-redo/cytoscape-undo-redo.js" "$out/cytoscape/"
cp "$nm/lodash/lodash.min.js" "$out/lodash/"
# tabler-icons.min.css also names .woff and .ttf fallbacks; woff2 is all browsers need.
sed -i 's#,url("./fonts/tabler-icons.woff?[^)]*) format("woff"),url("./fonts/tabler-icons.ttf?[^)]*) format("truetype")##' "$out/tabler-icons/tabler-icons.min.css"
echo "vendor assets ready in $out"
