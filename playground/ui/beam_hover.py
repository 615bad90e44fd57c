"""The page's script that draws a hovered beam-tree node's beam back to step 1.

gr.Plot sends no hover events back, and a figure cannot draw on hover by itself, so this script listens to the
plot's own `plotly_hover` and lays a line over it: from each node's customdata (its id and its parent's, set by
`plots.beam_tree`) it walks the parents to step 1 and maps them to pixels with the drawn axes.
"""

BEAM_HOVER_JS = """
const NODE = 8, PARENT = 9;  // customdata indices of a node's id and its parent's (-1: none)
const clear = (gd) => gd.querySelectorAll('.beam-hover').forEach((line) => line.remove());
const draw = (gd, event) => {
  clear(gd);
  const point = event.points && event.points[0];
  if (!point || !point.customdata || point.customdata.length <= PARENT) return;
  const nodes = new Map();  // id -> [step, row, parent]
  for (const trace of gd.data) {
    (trace.customdata || []).forEach((data, i) => {
      if (data && data.length > PARENT) nodes.set(data[NODE], [trace.x[i], trace.y[i], data[PARENT]]);
    });
  }
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
  const corners = [];
  for (let id = point.customdata[NODE]; nodes.has(id); id = nodes.get(id)[2]) {
    const [x, y] = nodes.get(id);
    corners.push(`${xa._offset + xa.l2p(x)},${ya._offset + ya.l2p(y)}`);
  }
  const svg = gd.querySelector('svg.main-svg');
  if (!svg || corners.length < 1) return;
  const line = document.createElementNS('http://www.w3.org/2000/svg', 'polyline');
  line.setAttribute('class', 'beam-hover');
  line.setAttribute('points', corners.join(' '));
  line.dataset.nodes = String(corners.length);
  line.setAttribute('style', 'fill:none;stroke:#D55E00;stroke-width:4;stroke-opacity:0.85;pointer-events:none');
  svg.appendChild(line);
};
const wire = (gd) => {
  if (gd.dataset.beamHover || typeof gd.on !== 'function') return;
  gd.dataset.beamHover = '1';
  gd.on('plotly_hover', (event) => draw(gd, event));
  gd.on('plotly_unhover', () => clear(gd));
  gd.on('plotly_relayout', () => clear(gd));  // the range slider moved: the pixels no longer match
};
const scan = () => document.querySelectorAll('#beam-plot .js-plotly-plot').forEach(wire);
new MutationObserver(scan).observe(document.body, {childList: true, subtree: true});
scan();
"""
