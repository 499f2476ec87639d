"""SNGP (Liu et al. 2020): see README.md in this folder."""

from repro.papers import PaperInfo

PAPER = PaperInfo(
    name="sngp",
    title="SNGP (Liu et al. 2020)",
    citation="Jeremiah Zhe Liu, Zi Lin, Shreyas Padhy, Dustin Tran, Tania Bedrax-Weiss, Balaji Lakshminarayanan. "
             "Simple and Principled Uncertainty Estimation with Deterministic Deep Learning via Distance Awareness. "
             "NeurIPS 2020. arXiv:2006.10108",
    url="https://arxiv.org/abs/2006.10108",
)
