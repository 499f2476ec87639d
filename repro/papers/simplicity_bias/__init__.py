"""The Pitfalls of Simplicity Bias in Neural Networks (Shah et al. 2020): see README.md in this folder."""

from repro.papers import PaperInfo

PAPER = PaperInfo(
    name="simplicity_bias",
    title="The Pitfalls of Simplicity Bias in Neural Networks (Shah et al. 2020)",
    citation="Harshay Shah, Kaustav Tamuly, Aditi Raghunathan, Prateek Jain, Praneeth Netrapalli. The Pitfalls of "
             "Simplicity Bias in Neural Networks. NeurIPS 2020. arXiv:2006.07710",
    url="https://arxiv.org/abs/2006.07710",
)
