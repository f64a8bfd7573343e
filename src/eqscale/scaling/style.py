"""The look shared by every figure of the report (no torch, no pyplot state).

One colour (:func:`eqscale.models.registry.display_color`), one marker and one name per
architecture in every figure; legends below the axes, never on the data; log-axis ticks chosen
so that their labels never overlap (plain decimals between 0.001 and 100000, ``m x 10^k``
beyond; with less than a decade on an axis, intermediate values such as 2, 3, 5 are labelled);
units on every axis.
"""

from __future__ import annotations

import zlib

import numpy as np

from eqscale.models.registry import display_color, display_name, names

LOSS_UNIT = "m\u00b2"  # the task loss: mean squared distance of token-mesh vertices, metres
LOSS_LABEL = f"test loss [{LOSS_UNIT}]"
REFERENCE_COLOR = "0.35"
MARKERS = ("o", "s", "^", "D", "v", "P", "X")
_FALLBACK_COLORS = ("#2a9d8f", "#8e44ad", "#c0392b", "#7f8c8d", "#b8860b")
# Mantissas labelled per decade, sparsest first; the densest set whose labels fit is used.
_MANTISSAS = ((1,), (1, 3), (1, 2, 5), (1, 2, 3, 5), (1, 2, 3, 4, 5, 7), tuple(range(1, 10)))
_MAX_TICKS = 7
_GAP_PT = 6.0  # the least space between two tick labels, points


def _slot(model: str) -> int:
    """A stable index per architecture: its registry position, else a hash of the name."""
    registered = names()
    if model in registered:
        return registered.index(model)
    return len(registered) + zlib.crc32(model.encode()) % 97


def color(model: str) -> str:
    return display_color(model, _FALLBACK_COLORS[_slot(model) % len(_FALLBACK_COLORS)])


def marker(model: str) -> str:
    return MARKERS[_slot(model) % len(MARKERS)]


def label(model: str, long: bool = True) -> str:
    return display_name(model, long=long)


def shades(base: str, n: int) -> list[tuple[float, float, float]]:
    """``n`` tints of ``base`` from light to dark (budgets of one architecture)."""
    from matplotlib.colors import to_rgb

    rgb = np.array(to_rgb(base))
    out = []
    for t in np.linspace(-0.55, 0.35, n) if n > 1 else [0.0]:
        mix = rgb + (1 - rgb) * -t if t < 0 else rgb * (1 - t)
        out.append(tuple(float(c) for c in np.clip(mix, 0, 1)))
    return out


def new_figure(ncols: int = 1, width: float = 7.0, height: float = 4.2):
    """A figure of ``ncols`` axes with the Agg canvas and constrained layout."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * ncols if ncols > 1 else width, height), layout="constrained")
    FigureCanvasAgg(fig)
    axes = [fig.add_subplot(1, ncols, i + 1) for i in range(ncols)]
    return fig, axes


def draw_reference(ax, result: dict) -> None:
    """The constant-velocity losses as labelled horizontal lines (when the table has them)."""
    ref = result.get("reference", {})
    if ref.get("ok"):
        ax.axhline(ref["constant_velocity_loss"], color=REFERENCE_COLOR, ls="-.", lw=1.1,
                   label=f"constant velocity (reference): {ref['constant_velocity_loss']:.3g}",
                   zorder=1)
        if "rigid_constant_velocity_loss" in ref:
            ax.axhline(ref["rigid_constant_velocity_loss"], color=REFERENCE_COLOR, ls=":",
                       lw=1.1, zorder=1, label="rigid constant velocity (untrained): "
                       f"{ref['rigid_constant_velocity_loss']:.3g}")


LEGEND_SIZE = 8


def _columns(fig, texts: list[str], width_pt: float, most: int) -> int:
    """As many legend columns (up to ``most``) as fit their longest label in ``width_pt``."""
    from matplotlib.font_manager import FontProperties

    renderer = fig.canvas.get_renderer()
    prop = FontProperties(size=LEGEND_SIZE)
    longest = max(renderer.get_text_width_height_descent(t, prop, ismath=False)[0]
                  for t in texts) * 72.0 / fig.dpi
    per_column = longest + 3.5 * LEGEND_SIZE  # the handle and the gaps around it
    return max(1, min(most, len(texts), int(width_pt // per_column)))


def shared_legend(fig, axes, ncols: int = 2) -> None:
    """One legend for all ``axes`` below the figure, every label once (panels that show the
    same architectures)."""
    seen: dict[str, object] = {}
    for ax in axes:
        for handle, text in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(text, handle)
    if seen:
        cols = _columns(fig, list(seen), fig.get_figwidth() * 72.0 - 20, ncols)
        legend = fig.legend(list(seen.values()), list(seen), loc="outside lower center",
                            ncols=cols, fontsize=LEGEND_SIZE, frameon=False)
        _make_room(fig, [legend])


def _make_room(fig, legends: list) -> None:
    """Grow the figure by its tallest legend, so the axes keep the height they were given."""
    if not legends:
        return
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    extra = max(leg.get_window_extent(renderer).height for leg in legends) / fig.dpi
    fig.set_figheight(fig.get_figheight() + extra + 0.1)


def legends_below(fig, ncols: int = 2) -> None:
    """Give every axes with labelled artists its legend under its x-axis label (outside the
    data), unless the figure already has a shared one. The offset is measured in points from
    the drawn tick labels and axis label, so the layout that follows cannot slide the legend
    onto them."""
    from matplotlib.transforms import offset_copy

    if fig.legends:
        return
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    made = []
    for ax in fig.axes:
        handles, texts = ax.get_legend_handles_labels()
        if not handles:
            continue
        below = ax.get_window_extent(renderer).y0 - ax.xaxis.get_tightbbox(renderer).y0
        shift = offset_copy(ax.transAxes, fig=fig, y=-(below * 72.0 / fig.dpi + 4.0),
                            units="points")
        room = fig.get_figwidth() * 72.0 / len(fig.axes) - 10
        made.append(ax.legend(handles, texts, loc="upper center", bbox_to_anchor=(0.5, 0.0),
                              bbox_transform=shift, ncols=_columns(fig, texts, room, ncols),
                              fontsize=LEGEND_SIZE, frameon=False))
    _make_room(fig, made)


def _plain(v: float) -> bool:
    return 1e-3 <= abs(v) < 1e5


def tick_text(v: float, digits: int = 2, plain: bool | None = None) -> str:
    """A tick label: plain decimals from 0.001 to 100000 (or as ``plain`` says), ``m x 10^k``
    (mathtext) otherwise, to ``digits`` significant digits (3 at least for plain decimals)."""
    if v == 0 or not np.isfinite(v):
        return "0"
    if _plain(v) if plain is None else plain:
        return np.format_float_positional(v, precision=max(3, digits), unique=True,
                                          fractional=False, trim="-")
    k = int(np.floor(np.log10(abs(v)) + 1e-9))
    m = float(f"{v / 10 ** k:.{digits}g}")
    if m == 10:  # rounding carried into the next power
        m, k = 1.0, k + 1
    if m == 1:
        return f"$10^{{{k}}}$"
    return f"${np.format_float_positional(m, trim='-')}\\times10^{{{k}}}$"


def tick_texts(ticks: list[float]) -> list[str]:
    """Labels of ``ticks`` in one style (plain only when every tick is plain-sized), with the
    fewest digits (from 2) that tell them all apart."""
    plain = all(_plain(t) for t in ticks)
    for digits in range(2, 7):
        texts = [tick_text(t, digits, plain) for t in ticks]
        if len(set(texts)) == len(texts):
            return texts
    return texts


def _candidates(lo: float, hi: float) -> tuple[list[list[float]], list[list[float]]]:
    """Tick sets on [lo, hi]: the log-nice ones, sparsest first (decades, every k-th when there
    are many, then denser mantissa sets), and evenly spaced ones for ranges too narrow for
    those to give two ticks."""
    from matplotlib.ticker import MaxNLocator

    k0, k1 = int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi)))
    inside = [lo * (1 - 1e-9), hi * (1 + 1e-9)]
    nice = []
    for step in (4, 3, 2):
        nice.append([10.0 ** k for k in range(k0, k1 + 1)
                     if k % step == 0 and inside[0] <= 10.0 ** k <= inside[1]])
    for subs in _MANTISSAS:
        ticks = [m * 10.0 ** k for k in range(k0, k1 + 1) for m in subs]
        nice.append([t for t in ticks if inside[0] <= t <= inside[1]])
    even = []
    for n in (5, 4, 3, 2):
        ticks = MaxNLocator(n, steps=[1, 2, 2.5, 5, 10]).tick_values(lo, hi)
        even.append([float(t) for t in ticks if inside[0] <= t <= inside[1] and t > 0])
    return [c for c in nice if c], [c for c in even if c]


def _fits(ax, axis: str, ticks: list[float], renderer, size: float) -> bool:
    """Whether the labels of ``ticks`` on ``axis`` keep at least _GAP_PT apart."""
    from matplotlib.font_manager import FontProperties

    if len(ticks) > _MAX_TICKS:
        return False
    prop = FontProperties(size=size)
    to_pt = 72.0 / ax.figure.dpi
    xy = ax.transData.transform([(t, 1) if axis == "x" else (1, t) for t in ticks])
    pos = (xy[:, 0] if axis == "x" else xy[:, 1]) * to_pt
    extent = []
    for text in tick_texts(ticks):
        w, h, _ = renderer.get_text_width_height_descent(text, prop, ismath=text.startswith("$"))
        extent.append((w if axis == "x" else h) * to_pt)
    for i in range(len(ticks) - 1):
        if abs(pos[i + 1] - pos[i]) < (extent[i] + extent[i + 1]) / 2 + _GAP_PT:
            return False
    return True


def readable_log_ticks(fig) -> None:
    """On every log axis of ``fig``, label the densest tick set whose labels do not overlap
    (the layout is computed first so axis lengths are known); minor ticks stay unlabelled."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter

    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        for axis, scale in (("x", ax.get_xscale()), ("y", ax.get_yscale())):
            if scale != "log":
                continue
            lo, hi = ax.get_xlim() if axis == "x" else ax.get_ylim()
            lo, hi = min(lo, hi), max(lo, hi)
            if not (lo > 0 and np.isfinite(hi)):
                continue
            target = ax.xaxis if axis == "x" else ax.yaxis
            size = target.get_ticklabels()[0].get_fontsize() if target.get_ticklabels() else 10
            nice, even = _candidates(lo, hi)
            fit_nice = [c for c in nice if _fits(ax, axis, c, renderer, size)]
            best = max(fit_nice, key=len, default=[])
            if len(best) < 2:  # evenly spaced values when no nice set gives two labels
                fit_even = [c for c in even if _fits(ax, axis, c, renderer, size)]
                best = max(fit_even + [best], key=len)
            if not best:
                best = min(nice + even, key=len, default=[])[:1]
            texts = dict(zip(best, tick_texts(best)))
            target.set_major_locator(FixedLocator(best))
            target.set_major_formatter(FuncFormatter(
                lambda v, _, texts=texts: texts.get(v, tick_text(v))))
            target.set_minor_locator(LogLocator(subs=tuple(range(2, 10))))
            target.set_minor_formatter(NullFormatter())
            (ax.set_xlim if axis == "x" else ax.set_ylim)(lo, hi)
