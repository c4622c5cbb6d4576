"""The architecture as a picture (matplotlib), for the setup notebook and the README."""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Patch

from helpers.colours import region_colours

COLOURS = {"route53": "#8c4fff", "apigw": "#e7157b", "lambda": "#ed7100", "dynamodb": "#3b48cc", "client": "#232f3e"}
SERVICES = (("route53", "Amazon Route 53"), ("apigw", "Amazon API Gateway"), ("lambda", "AWS Lambda"),
            ("dynamodb", "Amazon DynamoDB"))


def _box(ax, x, y, w, h, text, colour, fontsize=9):
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.02", fc=colour, ec="none", alpha=0.9))
    ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", color="white", fontsize=fontsize, wrap=True)


def _arrow(ax, start, end, text="", style="-|>"):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle=style, mutation_scale=12, color="#545b64", lw=1.2))
    if text:
        ax.text((start[0] + end[0]) / 2, (start[1] + end[1]) / 2, text, fontsize=7, color="#545b64",
                ha="center", va="bottom")


def architecture_diagram(regions: Sequence[str] = ("eu-west-1", "eu-central-1"), domain: str = "api.example.com",
                         routing: str = "weighted"):
    """Clients, Route 53 (health checks + routing), and per region API Gateway, Lambda and a DynamoDB replica.

    Each region's frame has the colour the chaos plots give that region, and the legend names
    both the regions and the services.
    """
    n = len(regions)
    width = max(10.0, 4.2 * n)
    fig, ax = plt.subplots(figsize=(width, 6.2))
    ax.set_xlim(0, width)
    ax.set_ylim(0, 10)
    ax.axis("off")
    ax.set_title("Serverless multi-region active-active backend", fontsize=13)
    _box(ax, width / 2 - 1.6, 8.6, 3.2, 0.9, f"clients\nhttps://{domain}", COLOURS["client"])
    _box(ax, width / 2 - 2.4, 6.9, 4.8, 1.1, f"Route 53: {routing} records + health checks on /health", COLOURS["route53"])
    _arrow(ax, (width / 2, 8.6), (width / 2, 8.0), "DNS")
    column = width / n
    region_colour = region_colours(regions)
    centres = []
    for i, region in enumerate(regions):
        cx = column * (i + 0.5)
        centres.append(cx)
        ax.add_patch(FancyBboxPatch((cx - column / 2 + 0.25, 0.4), column - 0.5, 5.9, boxstyle="round,pad=0.02",
                                    fc="none", ec=region_colour[region], ls="--", lw=2))
        ax.text(cx, 6.0, region, ha="center", fontsize=10, color=region_colour[region], weight="bold")
        _box(ax, cx - 1.5, 4.6, 3.0, 0.9, "API Gateway (REGIONAL)\ncustom domain + ACM cert", COLOURS["apigw"], 8)
        _box(ax, cx - 1.5, 2.9, 3.0, 0.9, "Lambda\npost item · get item · health", COLOURS["lambda"], 8)
        _box(ax, cx - 1.5, 0.9, 3.0, 1.0, "DynamoDB replica\n(global table 2019.11.21)", COLOURS["dynamodb"], 8)
        _arrow(ax, (width / 2, 6.9), (cx, 5.5), "healthy region")
        _arrow(ax, (cx, 4.6), (cx, 3.8))
        _arrow(ax, (cx, 2.9), (cx, 1.9))
    for a, b in zip(centres, centres[1:]):
        _arrow(ax, (a + 1.5, 1.4), (b - 1.5, 1.4), "replication", style="<|-|>")
    legend = [Patch(fc="none", ec=region_colour[r], ls="--", lw=2, label=f"region {r}") for r in regions]
    legend += [Patch(color=COLOURS[key], label=label) for key, label in SERVICES]
    ax.legend(handles=legend, loc="upper left", fontsize=8, frameon=False)
    fig.tight_layout()
    return fig
