"""LDAM-DRW's own claim type, named in its study YAMLs by import path; the generic checks (``less_than``,
``within_table``, ``gain_largest_at``) are the shared ones (``repro.studies.claims``)."""

from __future__ import annotations

from repro.studies.claims import ClaimResult, values_of, where_text

__all__ = ["tail_gain_exceeds_head_loss"]


def tail_gain_exceeds_head_loss(rows, *, a: dict, b: dict, tail: str = "test/accuracy_tail",
                                head: str = "test/accuracy_head", name: str | None = None) -> ClaimResult:
    """Rows ``a`` gain more tail accuracy over rows ``b`` than they lose head accuracy (seed means):
    (tail_a − tail_b) > (head_b − head_a)."""
    gain = float(values_of(rows, tail, a, "tail_gain").mean() - values_of(rows, tail, b, "tail_gain").mean())
    loss = float(values_of(rows, head, b, "head_loss").mean() - values_of(rows, head, a, "head_loss").mean())
    return ClaimResult(name or f"{where_text(a)}: tail gain over {where_text(b)} exceeds the head loss",
                       f"tail gain > head loss ({tail}, {head})", f"tail {gain:+.3f}, head loss {loss:+.3f}",
                       gain > loss, {"tail_gain": gain, "head_loss": loss})
