#!/usr/bin/env python3
"""Draws the comparison table (the TSV `bitcask-compare --out` writes) as a grouped bar
chart in SVG, one group per workload, one bar per engine, throughput relative to the
fastest engine of the row (so rows of very different scale share one axis), with the
M ops/s figure on each bar. No dependencies beyond Python 3.

    python3 compare/chart.py compare/results.tsv > docs/compare.svg
"""
import sys
from xml.sax.saxutils import escape

COLORS = ["#1f77b4", "#aec7e8", "#2ca02c", "#d62728", "#9467bd", "#7f7f7f", "#ff7f0e"]


def read(path):
    with open(path) as f:
        rows = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    engines = rows[0][1:]
    data = []
    for r in rows[1:]:
        name, cells = r[0], r[1:]
        if name.startswith("heap") or name.startswith("floor"):
            continue
        vals = [float(c) if c else None for c in cells + [""] * (len(engines) - len(cells))]
        data.append((name, vals))
    return engines, data


def svg(engines, data):
    bar_h, gap, label_w, plot_w = 11, 10, 260, 520
    group_h = bar_h * len(engines) + gap
    legend_h = 24
    height = legend_h + group_h * len(data) + 30
    width = label_w + plot_w + 90
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="sans-serif" font-size="10">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
    ]
    x = label_w
    for i, e in enumerate(engines):
        out.append(f'<rect x="{x}" y="6" width="10" height="10" fill="{COLORS[i % len(COLORS)]}"/>')
        out.append(f'<text x="{x + 14}" y="15">{escape(e)}</text>')
        x += 14 + 7 * len(e) + 16
    for g, (name, vals) in enumerate(data):
        top = legend_h + g * group_h
        best = max(v for v in vals if v is not None)
        out.append(f'<text x="{label_w - 8}" y="{top + group_h / 2}" text-anchor="end">{escape(name)}</text>')
        for i, v in enumerate(vals):
            if v is None:
                continue
            w = plot_w * v / best
            y = top + i * bar_h
            out.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h - 2}" '
                       f'fill="{COLORS[i % len(COLORS)]}"/>')
            out.append(f'<text x="{label_w + w + 4:.1f}" y="{y + bar_h - 3}">{v / 1e6:.2f}</text>')
    foot = legend_h + group_h * len(data) + 16
    out.append(f'<text x="{label_w}" y="{foot}">M operations per second; each row scaled to its fastest engine.</text>')
    out.append("</svg>")
    return "\n".join(out)


if __name__ == "__main__":
    engines, data = read(sys.argv[1])
    sys.stdout.write(svg(engines, data) + "\n")
