// An inline SVG line chart of values over time (license use per type), with a legend.
// Step lines: a count stays what it was until the next sample says otherwise.

import { h } from '../../dom.js';

const WIDTH = 900;
const HEIGHT = 240;
const MARGIN = { top: 12, right: 16, bottom: 28, left: 40 };

/** A round upper bound for the y axis and its tick step. */
function niceScale(max) {
  if (max <= 4) return { top: Math.max(4, max), step: 1 };
  const rough = max / 4;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= rough);
  return { top: Math.ceil(max / step) * step, step };
}

const timeLabel = (t) => new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });

/**
 * `series`: `[{name, points: [{t (ms), v}]}]`, all sampled at the same times. Answers a
 * figure with the SVG (described for screen readers) and a legend of the latest values.
 */
export function lineChart({ title, series }) {
  const times = series.flatMap((s) => s.points.map((p) => p.t));
  const first = Math.min(...times);
  const last = Math.max(...times);
  const span = Math.max(last - first, 1);
  const { top, step } = niceScale(Math.max(0, ...series.flatMap((s) => s.points.map((p) => p.v))));
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (t) => MARGIN.left + ((t - first) / span) * plotWidth;
  const y = (v) => MARGIN.top + plotHeight - (v / top) * plotHeight;

  const latest = series.map((s) => `${s.name} ${s.points.at(-1)?.v ?? 0}`).join(', ');
  const description = `${title}: ${series.length ? `now ${latest}` : 'no data yet'}.`;
  const svg = h('svg:svg', {
    viewBox: `0 0 ${WIDTH} ${HEIGHT}`,
    class: 'chart',
    role: 'img',
    'aria-label': description,
  }, h('svg:title', { text: description }));

  for (let v = 0; v <= top; v += step) {
    svg.append(
      h('svg:line', { x1: MARGIN.left, x2: WIDTH - MARGIN.right, y1: y(v), y2: y(v), class: 'grid' }),
      h('svg:text', { x: MARGIN.left - 6, y: y(v) + 4, class: 'tick', 'text-anchor': 'end', text: String(v) }));
  }
  if (times.length) {
    svg.append(
      h('svg:text', { x: MARGIN.left, y: HEIGHT - 8, class: 'tick', text: timeLabel(first) }),
      h('svg:text', { x: WIDTH - MARGIN.right, y: HEIGHT - 8, class: 'tick', 'text-anchor': 'end', text: timeLabel(last) }));
  }
  series.forEach((s, index) => {
    if (!s.points.length) return;
    let path = `M ${x(s.points[0].t).toFixed(1)} ${y(s.points[0].v).toFixed(1)}`;
    for (const point of s.points.slice(1)) {
      path += ` H ${x(point.t).toFixed(1)} V ${y(point.v).toFixed(1)}`;
    }
    const end = s.points.at(-1);
    svg.append(
      h('svg:path', { d: path, class: `line series-${index % 8}`, 'data-series': s.name }),
      h('svg:circle', { cx: x(end.t), cy: y(end.v), r: 3.5, class: `dot series-${index % 8}` }));
  });

  const legend = h('ul', { class: 'legend' }, series.map((s, index) => h('li', {},
    h('span', { class: `swatch series-${index % 8}`, 'aria-hidden': 'true' }),
    `${s.name}: `, h('strong', { text: String(s.points.at(-1)?.v ?? 0) }))));
  return h('figure', { class: 'chart-figure' }, svg, legend);
}
