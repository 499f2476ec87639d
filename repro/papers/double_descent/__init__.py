"""Deep Double Descent (Nakkiran et al. 2019): see README.md in this folder."""

from repro.papers import PaperInfo

PAPER = PaperInfo(
    name="double_descent",
    title="Deep Double Descent (Nakkiran et al. 2019)",
    citation="Preetum Nakkiran, Gal Kaplun, Yamini Bansal, Tristan Yang, Boaz Barak, Ilya Sutskever. Deep Double "
             "Descent: Where Bigger Models and More Data Hurt. ICLR 2020. arXiv:1912.02292",
    url="https://arxiv.org/abs/1912.02292",
)
