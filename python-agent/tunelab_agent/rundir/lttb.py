"""Largest-triangle-three-buckets downsampling (Steinarsson, 2013), keeping a series' extremes.

LTTB keeps the first and last points and, from each of the buckets between them, the point that
makes the largest triangle with the point kept before it and the mean of the next bucket: the points
where the line bends most, so the chart keeps its shape. A loss curve's lowest point is what a person
looks for, so the lowest and highest values are always kept too.
"""


def downsample(xs: list[float], ys: list[float], max_points: int) -> list[int]:
    """Indices (ascending) of at most `max_points` points to keep; the first, last, lowest and highest
    (first occurrence of each) are always among them. Needs max_points >= 4 when there are more points."""
    n = len(xs)
    if n <= max_points:
        return list(range(n))
    if max_points < 4:
        raise ValueError("max_points must be at least 4 to keep the first, last, lowest and highest points")
    lowest = min(range(n), key=ys.__getitem__)
    highest = max(range(n), key=ys.__getitem__)
    extremes = {lowest, highest} - {0, n - 1}
    kept = set(lttb(xs, ys, max_points - len(extremes))) | extremes
    # An extreme may already be LTTB's pick; then a slot is spare, and the result is shorter. Never longer.
    return sorted(kept)


def lttb(xs: list[float], ys: list[float], count: int) -> list[int]:
    """Plain LTTB: indices of `count` points (count >= 2), the first and last included."""
    n = len(xs)
    if count >= n:
        return list(range(n))
    if count < 2:
        raise ValueError("LTTB keeps at least the first and the last point")
    buckets = count - 2
    width = (n - 2) / buckets if buckets else 0.0

    def bounds(b: int) -> tuple[int, int]:
        # Bucket b of the inner points 1 .. n-2; the last one ends just before the final point.
        return 1 + int(b * width), min(1 + int((b + 1) * width), n - 1)

    kept = [0]
    for b in range(buckets):
        start, end = bounds(b)
        if b + 1 < buckets:
            nstart, nend = bounds(b + 1)
            mean_x = sum(xs[nstart:nend]) / (nend - nstart)
            mean_y = sum(ys[nstart:nend]) / (nend - nstart)
        else:
            mean_x, mean_y = xs[n - 1], ys[n - 1]
        ax, ay = xs[kept[-1]], ys[kept[-1]]
        best, best_area = start, -1.0
        for i in range(start, end):
            # Twice the triangle's area; the factor does not change which point wins.
            area = abs((ax - mean_x) * (ys[i] - ay) - (ax - xs[i]) * (mean_y - ay))
            if area > best_area:
                best, best_area = i, area
        kept.append(best)
    kept.append(n - 1)
    return kept
