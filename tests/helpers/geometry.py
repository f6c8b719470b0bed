"""Naive references for geometry the eval tests check vectorised code against."""
from __future__ import annotations

from fractions import Fraction


def naive_inside(x, y, poly):
    """Exact rational even-odd test, boundary excluded (the textbook x-intersection form)."""
    px, py = Fraction(x), Fraction(y)
    inside = False
    for i in range(len(poly)):
        (ax, ay), (bx, by) = map(Fraction, poly[i]), map(Fraction, poly[(i + 1) % len(poly)])
        if (bx - ax) * (py - ay) == (by - ay) * (px - ax) and min(ax, bx) <= px <= max(ax, bx) \
                and min(ay, by) <= py <= max(ay, by):
            return False
        if (ay > py) != (by > py) and px < ax + (py - ay) * (bx - ax) / (by - ay):
            inside = not inside
    return inside
