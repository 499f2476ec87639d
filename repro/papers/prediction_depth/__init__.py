"""Deep Learning Through the Lens of Example Difficulty (Baldock et al. 2021): see README.md in this folder."""

from repro.papers import PaperInfo

PAPER = PaperInfo(
    name="prediction_depth",
    title="Example difficulty through prediction depth (Baldock et al. 2021)",
    citation="Robert J. N. Baldock, Hartmut Maennel, Behnam Neyshabur. Deep Learning Through the Lens of Example "
             "Difficulty. NeurIPS 2021. arXiv:2106.09647",
    url="https://arxiv.org/abs/2106.09647",
)
