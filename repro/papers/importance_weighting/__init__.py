"""What is the effect of importance weighting in deep learning? (Byrd & Lipton 2019): see README.md in this folder."""

from repro.papers import PaperInfo

PAPER = PaperInfo(
    name="importance_weighting",
    title="What is the Effect of Importance Weighting in Deep Learning? (Byrd & Lipton 2019)",
    citation="Jonathon Byrd, Zachary C. Lipton. What is the Effect of Importance Weighting in Deep Learning? "
             "ICML 2019, PMLR 97:872-881. arXiv:1812.03372",
    url="https://arxiv.org/abs/1812.03372",
)
